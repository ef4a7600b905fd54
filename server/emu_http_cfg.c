/* $.http and --http/--http-token: parsed and checked once, at load, into
 * struct emu_config (emu_http.c only reads the result). */
#include "emu_http_cfg.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "emu_config.h"

/* Splits "ADDR:PORT"/"[V6]:PORT"/"PORT" into host text and port number. */
static int split_listen(const char *text, char *host, size_t host_size, long *port)
{
	const char *colon = strrchr(text, ':');
	const char *p = colon ? colon + 1 : text;
	char *end;
	size_t hlen = colon ? (size_t)(colon - text) : 0;
	if (colon && hlen >= 2 && text[0] == '[' && text[hlen - 1] == ']') {
		text++;
		hlen -= 2;
	}
	if (hlen >= host_size || *p == '\0')
		return -1;
	memcpy(host, colon ? text : "127.0.0.1", colon ? hlen : sizeof("127.0.0.1"));
	host[colon ? hlen : sizeof("127.0.0.1") - 1] = '\0';
	*port = strtol(p, &end, 10);
	return *end == '\0' && *port >= 0 && *port <= 65535 ? 0 : -1;
}

int emu_http_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *err,
			  size_t err_size)
{
	char host[64];
	long port;
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof(*ss));
	if (split_listen(text, host, sizeof(host), &port) < 0)
		goto err;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		return 0;
	}
err:
	snprintf(err, err_size,
		 "\"%s\": expected ADDR:PORT with a numeric address (127.0.0.1:8080, "
		 "[::1]:8080) or a bare PORT 0..65535 (then 127.0.0.1)",
		 text);
	return -1;
}

/* Replaces *dst with a copy of text. */
static int set_str(char **dst, const char *text, char *err, size_t err_size)
{
	char *copy = strdup(text);
	if (!copy) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

/* A non-empty string member (a listen address when listen is set), copied
 * to *dst, so a bad value names its JSON path. */
static int get_str(const json_t *o, const char *key, char **dst, int listen, char *err,
		   size_t err_size)
{
	const json_t *v = json_object_get(o, key);
	struct sockaddr_storage ss;
	socklen_t len;
	char inner[200];
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0) {
		snprintf(err, err_size, "$.http.%s: expected a non-empty string", key);
		return -1;
	}
	if (listen &&
	    emu_http_parse_listen(json_string_value(v), &ss, &len, inner, sizeof(inner)) < 0) {
		snprintf(err, err_size, "$.http.%s: %s", key, inner);
		return -1;
	}
	return set_str(dst, json_string_value(v), err, err_size);
}

/* An optional integer member within [min, max]. */
static int get_u32(const json_t *o, const char *key, long long min, long long max, uint32_t *out,
		   char *err, size_t err_size)
{
	const json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, err_size, "$.http.%s: expected integer %lld..%lld", key, min, max);
		return -1;
	}
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* Rejects unknown keys under $.http: a typo must not silently do nothing. */
static int check_keys(const json_t *o, char *err, size_t err_size)
{
	static const char *const keys[] = {"listen",   "token",		"max_clients",
					   "max_body", "sse_max_queue", NULL};
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v)
	{
		size_t i = 0;
		while (keys[i] && strcmp(keys[i], key))
			i++;
		if (!keys[i]) {
			snprintf(err, err_size,
				 "$.http.%s: unknown key (known: listen, token, "
				 "max_clients, max_body, sse_max_queue)",
				 key);
			return -1;
		}
	}
	return 0;
}

int emu_http_cfg_apply(struct emu_config *cfg, const json_t *o, char *err, size_t err_size)
{
	if (!o)
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, err_size,
			 "$.http: expected an object such as "
			 "{\"listen\": \"127.0.0.1:8080\"}");
		return -1;
	}
	if (check_keys(o, err, err_size) < 0 ||
	    get_str(o, "listen", &cfg->http, 1, err, err_size) < 0 ||
	    get_str(o, "token", &cfg->http_token, 0, err, err_size) < 0 ||
	    get_u32(o, "max_clients", 1, 4096, &cfg->http_max_clients, err, err_size) < 0 ||
	    get_u32(o, "max_body", 1024, 16 << 20, &cfg->http_max_body, err, err_size) < 0 ||
	    get_u32(o, "sse_max_queue", 4096, 256 << 20, &cfg->http_sse_max, err, err_size) < 0)
		return -1;
	return 0;
}

int emu_http_cfg_flag(struct emu_config *cfg, const char *flag, const char *arg, char *err,
		      size_t err_size)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char inner[200];
	if (strcmp(flag, "--http-token") == 0) {
		if (*arg == '\0') {
			snprintf(err, err_size, "--http-token: expected a non-empty token");
			return -1;
		}
		return set_str(&cfg->http_token, arg, err, err_size);
	}
	if (emu_http_parse_listen(arg, &ss, &len, inner, sizeof(inner)) < 0) {
		snprintf(err, err_size, "%s %s", flag, inner);
		return -1;
	}
	return set_str(&cfg->http, arg, err, err_size);
}

json_t *emu_http_cfg_json(const struct emu_config *cfg)
{
	if (!cfg->http)
		return NULL;
	return json_pack("{s:s, s:s*, s:I, s:I, s:I}", "listen", cfg->http, "token",
			 cfg->http_token, "max_clients", (json_int_t)cfg->http_max_clients,
			 "max_body", (json_int_t)cfg->http_max_body, "sse_max_queue",
			 (json_int_t)cfg->http_sse_max);
}
