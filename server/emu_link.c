#include "emu_link.h"

#include <stdio.h>
#include <string.h>

/* Checks one link-value: "<" URI ">" then ";param" items only. */
static int check_link(const char *s, size_t n, size_t at, char *err, size_t err_size)
{
	if (n == 0) {
		snprintf(err, err_size, "empty link at offset %zu", at);
		return -1;
	}
	const char *gt = memchr(s, '>', n);
	if (s[0] != '<' || !gt || gt == s + 1) {
		snprintf(err, err_size, "link at offset %zu does not start with <URI>", at);
		return -1;
	}
	size_t rest = n - (size_t)(gt + 1 - s);
	if (rest > 0 && gt[1] != ';') {
		snprintf(err, err_size, "link at offset %zu: expected ';' after '>'", at);
		return -1;
	}
	return 0;
}

/* Appends the trimmed link [s, s+n) to arr after checking it. */
static int add_link(json_t *arr, const char *s, size_t n, size_t at, char *err, size_t err_size)
{
	while (n > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n')) {
		s++;
		n--;
		at++;
	}
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	if (check_link(s, n, at, err, err_size) < 0)
		return -1;
	json_t *str = json_stringn(s, n);
	if (!str) {
		snprintf(err, err_size, "link at offset %zu is not valid UTF-8", at);
		return -1;
	}
	return json_array_append_new(arr, str);
}

/* Walks the payload once, tracking quotes and angle brackets. */
json_t *emu_link_parse(const char *payload, size_t len, char *err, size_t err_size)
{
	json_t *arr = json_array();
	size_t start = 0;
	int quoted = 0, in_uri = 0;
	if (!arr)
		goto err;
	if (len == 0)
		return arr;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? payload[i] : ',';
		if (i < len && c == '\0') {
			snprintf(err, err_size, "NUL byte at offset %zu", i);
			goto err;
		}
		if (c == '"' && !in_uri)
			quoted = !quoted;
		else if (c == '<' && !quoted)
			in_uri = 1;
		else if (c == '>' && !quoted)
			in_uri = 0;
		if (c != ',' || quoted || in_uri)
			continue;
		if (add_link(arr, payload + start, i - start, start, err, err_size) < 0)
			goto err;
		start = i + 1;
	}
	if (quoted || in_uri) {
		snprintf(err, err_size, "unterminated %s at end of payload",
			 quoted ? "quoted string" : "<URI>");
		goto err;
	}
	return arr;
err:
	json_decref(arr);
	return NULL;
}
