/* Endpoint names bound to client certificates (see emu_certbind.h). Leshan
 * binds an X.509 client to the endpoint named by its certificate's CN; a
 * binding here names the CN (or the whole subject, for PKIs whose CN is not
 * the endpoint), so {"cn": "dev1", "endpoint": "dev1"} is Leshan's rule. */
#include "emu_certbind.h"

#include <stdio.h>
#include <string.h>

/* One binding: exactly one of cn/subject, and an endpoint, all non-empty. */
static int check_one(const json_t *b, const char *p, char *err, size_t err_size)
{
	const char *key;
	const json_t *v;
	int names = 0;
	if (!json_is_object(b))
		return snprintf(err, err_size, "%s: expected an object {cn, endpoint}", p), -1;
	json_object_foreach((json_t *)b, key, v)
	{
		if (strcmp(key, "cn") && strcmp(key, "subject") && strcmp(key, "endpoint"))
			return snprintf(err, err_size,
					"%s.%s: unknown key (expected cn or subject, and "
					"endpoint)",
					p, key),
			       -1;
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 255)
			return snprintf(err, err_size, "%s.%s: expected a string of 1..255 bytes",
					p, key),
			       -1;
		names += strcmp(key, "endpoint") != 0;
	}
	if (names != 1)
		return snprintf(err, err_size,
				"%s: give the certificate as exactly one of cn or subject", p),
		       -1;
	if (!json_object_get(b, "endpoint"))
		return snprintf(err, err_size, "%s.endpoint: missing (the endpoint name bound)", p),
		       -1;
	return 0;
}

int emu_certbind_check(const json_t *arr, const char *path, char *err, size_t err_size)
{
	size_t i;
	const json_t *b;
	char p[96];
	if (!json_is_array(arr))
		return snprintf(err, err_size, "%s: expected an array of {cn, endpoint}", path), -1;
	json_array_foreach(arr, i, b)
	{
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (check_one(b, p, err, err_size) < 0)
			return -1;
	}
	return 0;
}

/* Mbed TLS separates the attributes of a DN with ", " and escapes a comma
 * inside a value with a backslash; the value of the last CN= is copied
 * unescaped. */
int emu_certbind_cn(const char *subject, char *out, size_t size)
{
	const char *found = NULL;
	size_t n = 0;
	int start = 1; /* p begins an attribute */
	for (const char *p = subject; *p; p++) {
		if (start && strncmp(p, "CN=", 3) == 0)
			found = p + 3;
		start = *p == ',' && p[1] == ' ';
		if (start)
			p++;
		else if (*p == '\\' && p[1])
			p++;
	}
	if (!found || size == 0)
		return -1;
	for (const char *p = found; *p && !(*p == ',' && p[1] == ' ') && n + 1 < size; p++) {
		if (*p == '\\' && p[1])
			p++;
		out[n++] = *p;
	}
	out[n] = '\0';
	return 0;
}

/* Whether binding b names this certificate. */
static int names_cert(const json_t *b, const char *subject, const char *cn)
{
	const char *want_cn = json_string_value(json_object_get(b, "cn"));
	const char *want_dn = json_string_value(json_object_get(b, "subject"));
	if (want_cn)
		return cn && strcmp(want_cn, cn) == 0;
	return want_dn && strcmp(want_dn, subject) == 0;
}

int emu_certbind_allows(const json_t *arr, const char *subject, const char *ep, char *err,
			size_t err_size)
{
	char cn[256];
	const char *bound = NULL;
	size_t i;
	const json_t *b;
	int has_cn = emu_certbind_cn(subject, cn, sizeof(cn)) == 0;
	json_array_foreach(arr, i, b)
	{
		if (!names_cert(b, subject, has_cn ? cn : NULL))
			continue;
		bound = json_string_value(json_object_get(b, "endpoint"));
		if (strcmp(bound, ep) == 0)
			return 0;
	}
	if (!bound)
		return 0;
	snprintf(err, err_size, "certificate subject \"%s\" is bound to endpoint \"%s\"", subject,
		 bound);
	return -1;
}
