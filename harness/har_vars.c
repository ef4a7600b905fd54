#include "har_vars.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VAR_CERTS "${certs}"

/* Replaces every ${certs} in text; NULL (with an error) on any other ${...}. */
static char *expand_text(const char *text, const char *path, const char *certs_dir,
			 struct har_errs *errs)
{
	size_t cap = strlen(text) + 1, len = 0;
	char *out = NULL;
	for (const char *p = text; *p;) {
		const char *var = strstr(p, "${");
		size_t plain = var ? (size_t)(var - p) : strlen(p);
		const char *add = p;
		size_t add_len = plain, skip = plain;
		if (plain == 0 && var) {
			if (strncmp(var, VAR_CERTS, strlen(VAR_CERTS)) != 0) {
				har_errs_add(errs, path,
					     "unknown variable in \"%s\" (only %s exists)", text,
					     VAR_CERTS);
				goto err;
			}
			if (access(certs_dir, R_OK) != 0) {
				har_errs_add(errs, path,
					     "%s is %s, which does not exist: run 'make certs'",
					     VAR_CERTS, certs_dir);
				goto err;
			}
			add = certs_dir;
			add_len = strlen(certs_dir);
			skip = strlen(VAR_CERTS);
		}
		cap += add_len;
		char *grown = realloc(out, cap);
		if (!grown)
			goto err;
		out = grown;
		memcpy(out + len, add, add_len);
		len += add_len;
		p += skip;
	}
	if (!out && !(out = calloc(1, 1)))
		return NULL;
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
