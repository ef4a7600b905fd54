#include "har_vars.h"

#include <errno.h>
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

/* ${pki_hex:<file>}: the bytes of a file of the PKI in hex (e.g.
 * pki_hex:client/dev1.der), for payloads that carry a certificate or key
 * (a bootstrap server writing /0/x/3..5): regenerated PKIs change them. */
static char *pki_hex(const char *rel, const char *certs_dir, const char *path,
		     struct har_errs *errs)
{
	char file[4200];
	unsigned char buf[HAR_VARS_FILE_MAX];
	size_t n;
	char *hex = NULL;
	if (!rel[0] || rel[0] == '/' || strstr(rel, "..")) {
		har_errs_add(errs, path,
			     "${pki_hex:%s}: expected a file inside the PKI, e.g. "
			     "${pki_hex:client/dev1.der}",
			     rel);
		return NULL;
	}
	snprintf(file, sizeof(file), "%s/%s", certs_dir, rel);
	FILE *f = fopen(file, "rb");
	if (!f) {
		har_errs_add(errs, path, "${pki_hex:%s}: cannot read %s: %s", rel, file,
			     strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (!feof(f) || ferror(f) || n == 0)
		har_errs_add(errs, path, "${pki_hex:%s}: %s is empty, unreadable or over %d bytes",
			     rel, file, HAR_VARS_FILE_MAX - 1);
	else if ((hex = malloc(2 * n + 1)))
		for (size_t i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	fclose(f);
	return hex;
}

/* A run-time variable: known only once the network simulator is up. At
 * load time (env->server_addr NULL) it stays as written, and only in
 * $.emulator, whose config the harness rewrites with the values. */
static char *runtime_value(const char *name, const struct har_vars_env *env, const char *path,
			   struct har_errs *errs)
{
	char *out = NULL;
	if (!env->server_addr && strncmp(path, "$.emulator", 10) != 0) {
		har_errs_add(errs, path,
			     "${%s} is known only when the scenario runs: it may be used in "
			     "$.emulator (e.g. a bootstrap write), not here",
			     name);
		return NULL;
	}
	if (!env->server_addr)
		return asprintf(&out, "${%s}", name) < 0 ? NULL : out;
	if (!strcmp(name, "server_addr"))
		return strdup(env->server_addr);
	return asprintf(&out, "%s://%s", env->scheme, env->server_addr) < 0 ? NULL : out;
}

/* The value of one variable name (without ${}), malloc'd; NULL with an error. */
static char *var_value(const char *name, const struct har_vars_env *env, const char *path,
		       struct har_errs *errs)
{
	const char *certs_dir = env->certs_dir;
	if (!strcmp(name, "server_addr") || !strcmp(name, "server_uri"))
		return runtime_value(name, env, path, errs);
	if (strcmp(name, "certs") != 0 && strncmp(name, "pki:", 4) != 0 &&
	    strncmp(name, "pki_hex:", 8) != 0) {
		har_errs_add(errs, path,
			     "unknown variable ${%s} (there are ${certs}, ${pki:...}, "
			     "${pki_hex:...}, ${server_addr} and ${server_uri})",
			     name);
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
	if (name[0] == 'c')
		return strdup(certs_dir);
	return name[3] == ':' ? pki_value(name + 4, certs_dir, path, errs)
			      : pki_hex(name + 8, certs_dir, path, errs);
}

/* Replaces every ${...} in text; NULL (with an error) on a bad one. */
static char *expand_text(const char *text, const char *path, const struct har_vars_env *env,
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
		char *value = var_value(name, env, path, errs);
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

/* Walks value, expanding every string that names a variable. */
static size_t expand_tree(json_t *value, const char *path, const struct har_vars_env *env,
			  struct har_errs *errs)
{
	char sub[512];
	size_t n = 0, i;
	const char *key;
	json_t *v;
	if (json_is_string(value) && strstr(json_string_value(value), "${")) {
		char *text = expand_text(json_string_value(value), path, env, errs);
		if (!text)
			return 1;
		json_string_set(value, text);
		free(text);
	} else if (json_is_object(value)) {
		json_object_foreach(value, key, v)
		{
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			n += expand_tree(v, sub, env, errs);
		}
	} else if (json_is_array(value)) {
		json_array_foreach(value, i, v)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			n += expand_tree(v, sub, env, errs);
		}
	}
	return n;
}

size_t har_vars_expand(json_t *value, const char *path, const char *certs_dir,
		       struct har_errs *errs)
{
	struct har_vars_env env = {.certs_dir = certs_dir};
	return expand_tree(value, path, &env, errs);
}

size_t har_vars_expand_runtime(json_t *value, const char *path, const struct har_vars_env *env,
			       struct har_errs *errs)
{
	return expand_tree(value, path, env, errs);
}

int har_vars_has_runtime(const json_t *value)
{
	const char *key;
	size_t i;
	json_t *v;
	if (json_is_string(value))
		return strstr(json_string_value(value), "${server_addr}") ||
		       strstr(json_string_value(value), "${server_uri}");
	json_object_foreach((json_t *)value, key, v) if (har_vars_has_runtime(v)) return 1;
	json_array_foreach(value, i, v) if (har_vars_has_runtime(v)) return 1;
	return 0;
}
