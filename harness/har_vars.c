#include "har_vars.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Looks up "pki:<id>.<field>" in <certs>/index.json (written by `make certs`),
 * e.g. pki:server/selfsigned.sha256_spki: fingerprints change whenever the
 * PKI is regenerated, so DANE scenarios name them instead of copying them. */
static char *pki_value(const char *spec, const char *certs_dir, const char *path,
		       struct har_errs *errs)
{
	char file[4200], id[256];
	const char *dot = strrchr(spec, '.');
	char *value = NULL;
	json_error_t jerr;
	if (!dot || dot == spec || (size_t)(dot - spec) >= sizeof(id)) {
		har_errs_add(errs, path, "${pki:%s}: expected ${pki:<id>.<field>}", spec);
		return NULL;
	}
	memcpy(id, spec, (size_t)(dot - spec));
	id[dot - spec] = '\0';
	snprintf(file, sizeof(file), "%s/index.json", certs_dir);
	json_t *index = json_load_file(file, 0, &jerr);
	if (!index) {
		har_errs_add(errs, path, "${pki:%s}: cannot read %s (%s): run 'make certs'", spec,
			     file, jerr.text);
		return NULL;
	}
	json_t *field =
	    json_object_get(json_object_get(json_object_get(index, "certs"), id), dot + 1);
	if (json_is_string(field))
		value = strdup(json_string_value(field));
	else
		har_errs_add(errs, path, "${pki:%s}: %s has no string field \"%s\" for \"%s\"",
			     spec, file, dot + 1, id);
	json_decref(index);
	return value;
}

/* The value of one variable name (without ${}), malloc'd; NULL with an error. */
static char *var_value(const char *name, const char *certs_dir, const char *path,
		       struct har_errs *errs)
{
	if (strcmp(name, "certs") != 0 && strncmp(name, "pki:", 4) != 0) {
		har_errs_add(errs, path,
			     "unknown variable ${%s} (there are ${certs} and ${pki:...})", name);
		return NULL;
	}
	if (access(certs_dir, R_OK) != 0) {
		har_errs_add(errs, path,
			     "${%s} needs the test PKI %s, which does not exist: run "
			     "'make certs' (an installed harness: generate one with "
			     "share/lwm2m-harness/certs/gen-pki.sh DIR and pass --certs DIR)",
			     name, certs_dir);
		return NULL;
	}
	return name[0] == 'c' ? strdup(certs_dir) : pki_value(name + 4, certs_dir, path, errs);
}

/* Replaces every ${...} in text; NULL (with an error) on a bad one. */
static char *expand_text(const char *text, const char *path, const char *certs_dir,
			 struct har_errs *errs)
{
	size_t len = 0;
	char *out = calloc(1, strlen(text) + 1), name[512];
	for (const char *p = text; out && *p;) {
		const char *var = strstr(p, "${"), *end = var ? strchr(var, '}') : NULL;
		size_t plain = var ? (size_t)(var - p) : strlen(p);
		memcpy(out + len, p, plain);
		len += plain;
		p += plain;
		if (!var)
			break;
		if (!end || (size_t)(end - var - 2) >= sizeof(name)) {
			har_errs_add(errs, path, "unterminated or too long ${ in \"%s\"", text);
			goto err;
		}
		memcpy(name, var + 2, (size_t)(end - var - 2));
		name[end - var - 2] = '\0';
		char *value = var_value(name, certs_dir, path, errs);
		if (!value)
			goto err;
		char *grown = realloc(out, len + strlen(value) + strlen(end + 1) + 1);
		if (!grown) {
			free(value);
			goto err;
		}
		out = grown;
		memcpy(out + len, value, strlen(value));
		len += strlen(value);
		free(value);
		p = end + 1;
	}
	if (out)
		out[len] = '\0';
	return out;
err:
	free(out);
	return NULL;
}

size_t har_vars_expand(json_t *value, const char *path, const char *certs_dir,
		       struct har_errs *errs)
{
	char sub[512];
	size_t n = 0, i;
	const char *key;
	json_t *v;
	if (json_is_string(value) && strstr(json_string_value(value), "${")) {
		char *text = expand_text(json_string_value(value), path, certs_dir, errs);
		if (!text)
			return 1;
		json_string_set(value, text);
		free(text);
	} else if (json_is_object(value)) {
		json_object_foreach(value, key, v)
		{
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			n += har_vars_expand(v, sub, certs_dir, errs);
		}
	} else if (json_is_array(value)) {
		json_array_foreach(value, i, v)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			n += har_vars_expand(v, sub, certs_dir, errs);
		}
	}
	return n;
}
