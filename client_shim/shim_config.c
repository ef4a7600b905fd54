/* shim_config.c: strict parsing of the client config (unknown keys and wrong
 * types are errors naming the JSON path, as everywhere in the product). */
#include "client_shim/shim_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/ssl.h>

#include "lh_hex.h"

typedef struct {
	char *msg;
	size_t size;
} perr_t;

/* Writes "path: what" into the caller's message buffer; returns -1. */
static int fail(perr_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(perr_t *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, e->size, fmt, ap);
	va_end(ap);
	return -1;
}

/* Refuses keys not in the NULL-terminated allowed list. */
static int check_keys(const json_t *obj, const char *path, const char *const *allowed, perr_t *e)
{
	const char *key;
	json_t *val;
	size_t i;

	if (!json_is_object(obj))
		return fail(e, "%s: expected an object", path);
	json_object_foreach((json_t *)obj, key, val)
	{
		for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
			;
		if (!allowed[i])
			return fail(e, "%s.%s: unknown key", path, key);
	}
	return 0;
}

/* Copies an optional string member; required ones must be present. */
static int get_str(const json_t *obj, const char *path, const char *key, char *dst, size_t size,
		   int required, perr_t *e)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return required ? fail(e, "%s.%s: missing (expected a string)", path, key) : 0;
	if (!json_is_string(v))
		return fail(e, "%s.%s: expected a string", path, key);
	if (json_string_length(v) >= size)
		return fail(e, "%s.%s: longer than %zu characters", path, key, size - 1);
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 1;
}

/* Reads an optional integer member within [lo, hi]. */
static int get_int(const json_t *obj, const char *path, const char *key, long lo, long hi,
		   long *dst, perr_t *e)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return fail(e, "%s.%s: expected an integer %ld..%ld", path, key, lo, hi);
	*dst = (long)json_integer_value(v);
	return 1;
}

/* Decodes an optional hex member into dst; returns bytes or -1. */
static int get_hex(const json_t *obj, const char *path, const char *key, unsigned char *dst,
		   size_t size, size_t *len, perr_t *e)
{
	char text[2 * SHIM_DANE_DATA_MAX + 1];
	int n, r = get_str(obj, path, key, text, sizeof(text), 0, e);

	if (r <= 0)
		return r;
	n = lh_hex_decode(text, dst, size);
	if (n < 0)
		return fail(e, "%s.%s: not an even-length hex string of at most %zu bytes", path,
			    key, size);
	*len = (size_t)n;
	return 1;
}

/* "host:port" or "[v6]:port" into host and port text. */
int shim_config_split_server(const char *text, shim_config_t *cfg)
{
	const char *colon, *host = text;
	size_t hlen;

	if (text[0] == '[') {
		colon = strstr(text, "]:");
		host = text + 1;
		hlen = colon ? (size_t)(colon - host) : 0;
		colon = colon ? colon + 1 : NULL;
	} else {
		colon = strrchr(text, ':');
		hlen = colon ? (size_t)(colon - text) : 0;
	}
	if (!colon || !hlen || hlen >= sizeof(cfg->host) || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= sizeof(cfg->port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	memcpy(cfg->host, host, hlen);
	cfg->host[hlen] = 0;
	strcpy(cfg->port, colon + 1);
	return 0;
}

/* The "security" object: PSK or certificate credentials. */
static int parse_security(const json_t *sec, shim_config_t *cfg, perr_t *e)
{
	static const char *const keys[] = {
	    "mode",	  "identity",	 "key_hex",    "trust_store",
	    "crl",	  "client_cert", "client_key", "client_key_password",
	    "validation", NULL};
	const char *p = "$.config.security";
	const json_t *v;
	char mode[16] = "psk";

	if (check_keys(sec, p, keys, e) || get_str(sec, p, "mode", mode, sizeof(mode), 1, e) < 0)
		return -1;
	if (!strcmp(mode, "psk")) {
		cfg->mode = SL_SECURITY_PSK;
		if (get_str(sec, p, "identity", cfg->identity, sizeof(cfg->identity), 1, e) < 0 ||
		    get_hex(sec, p, "key_hex", cfg->key, sizeof(cfg->key), &cfg->key_len, e) < 0)
			return -1;
		if (!cfg->key_len)
			return fail(e, "%s.key_hex: missing or empty (PSK mode needs a key)", p);
		return 0;
	}
	if (strcmp(mode, "certificate"))
		return fail(e, "%s.mode: expected \"psk\" or \"certificate\"", p);
	cfg->mode = SL_SECURITY_CERTIFICATE;
	v = json_object_get(sec, "validation");
	if (v && !json_is_boolean(v))
		return fail(e, "%s.validation: expected true or false", p);
	cfg->validation = v ? json_is_true(v) : 1;
	if (get_str(sec, p, "trust_store", cfg->trust_store, sizeof(cfg->trust_store), 0, e) < 0 ||
	    get_str(sec, p, "crl", cfg->crl, sizeof(cfg->crl), 0, e) < 0 ||
	    get_str(sec, p, "client_cert", cfg->client_chain, sizeof(cfg->client_chain), 0, e) <
		0 ||
	    get_str(sec, p, "client_key", cfg->client_key, sizeof(cfg->client_key), 0, e) < 0 ||
	    get_str(sec, p, "client_key_password", cfg->key_password, sizeof(cfg->key_password), 0,
		    e) < 0)
		return -1;
	return 0;
}

/* Ciphersuites as IANA integers or Mbed TLS names ("TLS-PSK-WITH-AES-128-CCM-8"). */
static int parse_suites(const json_t *arr, shim_config_t *cfg, perr_t *e)
{
	const json_t *v;
	size_t i;
	int id;

	if (!json_is_array(arr) || json_array_size(arr) > SHIM_MAX_SUITES)
		return fail(e, "$.config.ciphersuites: expected an array of at most %d suites",
			    SHIM_MAX_SUITES);
	json_array_foreach(arr, i, v)
	{
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) <= 0xFFFF)
			id = (int)json_integer_value(v);
		else if (json_is_string(v))
			id = mbedtls_ssl_get_ciphersuite_id(json_string_value(v));
		else
			return fail(e,
				    "$.config.ciphersuites[%zu]: expected an IANA id 1..65535 "
				    "or a suite name",
				    i);
		if (id <= 0)
			return fail(e, "$.config.ciphersuites[%zu]: unknown suite name \"%s\"", i,
				    json_string_value(v));
		cfg->suites[i] = (uint16_t)id;
	}
	cfg->n_suites = json_array_size(arr);
	return 0;
}

/* One DANE record: {"usage":0..3,"selector":0..1,"matching":0..2,"data_hex":".."}. */
static int parse_dane_one(const json_t *o, const char *path, size_t i, shim_config_t *cfg,
			  perr_t *e)
{
	static const char *const keys[] = {"usage", "selector", "matching", "data_hex", NULL};
	char p[64];
	long usage = -1, sel = 0, match = 0;
	size_t len = 0;

	snprintf(p, sizeof(p), "%s[%zu]", path, i);
	if (check_keys(o, p, keys, e) || get_int(o, p, "usage", 0, 3, &usage, e) < 0 ||
	    get_int(o, p, "selector", 0, 1, &sel, e) < 0 ||
	    get_int(o, p, "matching", 0, 2, &match, e) < 0 ||
	    get_hex(o, p, "data_hex", cfg->dane_data[i], SHIM_DANE_DATA_MAX, &len, e) < 0)
		return -1;
	if (usage < 0 || !len)
		return fail(e, "%s: \"usage\" and a non-empty \"data_hex\" are required", p);
	cfg->dane[i].usage = (sl_dane_usage_t)usage;
	cfg->dane[i].selector = (sl_dane_selector_t)sel;
	cfg->dane[i].matching = (sl_dane_matching_t)match;
	cfg->dane[i].data = cfg->dane_data[i];
	cfg->dane[i].data_len = len;
	return 0;
}

/* An array of DANE records, replacing those already in cfg. */
int shim_config_parse_dane(const json_t *arr, const char *path, shim_config_t *cfg, char *msg,
			   size_t msg_size)
{
	perr_t e = {msg, msg_size};
	const json_t *v;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) > SHIM_MAX_DANE)
		return fail(&e, "%s: expected an array of at most %d records", path, SHIM_MAX_DANE);
	/* Validation off accepts any certificate: records would be ignored, so
	 * say so instead of pretending they are enforced (cfg->mode and
	 * validation are parsed before the records). */
	if (json_array_size(arr) && cfg->mode == SL_SECURITY_CERTIFICATE && !cfg->validation)
		return fail(&e,
			    "%s: DANE records need server certificate validation "
			    "(security.validation is false: any certificate would be accepted)",
			    path);
	json_array_foreach(arr, i, v) if (parse_dane_one(v, path, i, cfg, &e)) return -1;
	cfg->n_dane = json_array_size(arr);
	return 0;
}

/* The "handshake_timeout_ms" object {"min":..,"max":..}. */
static int parse_hs(const json_t *o, shim_config_t *cfg, perr_t *e)
{
	static const char *const keys[] = {"min", "max", NULL};
	const char *p = "$.config.handshake_timeout_ms";
	long lo = cfg->hs.min_ms, hi = cfg->hs.max_ms;

	if (check_keys(o, p, keys, e) || get_int(o, p, "min", 1, 600000, &lo, e) < 0 ||
	    get_int(o, p, "max", 1, 600000, &hi, e) < 0)
		return -1;
	if (lo > hi)
		return fail(e, "%s: min %ld is above max %ld", p, lo, hi);
	cfg->hs.min_ms = (uint32_t)lo;
	cfg->hs.max_ms = (uint32_t)hi;
	return 0;
}

static const char *const after_names[] = {"nothing", "register", "update"};

/* The action's name as the config spells it. */
const char *shim_config_after_name(shim_after_t a)
{
	return (unsigned)a < 3 ? after_names[a] : "?";
}

/* One member of "after_connect": "register", "update" or "nothing". */
static int get_after(const json_t *o, const char *key, shim_after_t *dst, perr_t *e)
{
	const char *p = "$.config.after_connect";
	const json_t *v = json_object_get(o, key);
	unsigned i;

	if (!v)
		return 0;
	for (i = 0; json_is_string(v) && i < 3; i++)
		if (!strcmp(json_string_value(v), after_names[i])) {
			*dst = (shim_after_t)i;
			return 0;
		}
	return fail(e, "%s.%s: expected \"register\", \"update\" or \"nothing\"", p, key);
}

/* The "after_connect" object: what the client does once connected while
 * it holds a registration, per way the connection came up. */
static int parse_after(const json_t *o, shim_config_t *cfg, perr_t *e)
{
	static const char *const keys[] = {"full_handshake", "resumed", "cid_restored", NULL};
	shim_after_connect_t *a = &cfg->after_connect;

	if (check_keys(o, "$.config.after_connect", keys, e) ||
	    get_after(o, "full_handshake", &a->full_handshake, e) ||
	    get_after(o, "resumed", &a->resumed, e) ||
	    get_after(o, "cid_restored", &a->cid_restored, e))
		return -1;
	return 0;
}

/* Sets the defaults documented in docs/protocol.md. */
static void set_defaults(shim_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->transport = SL_TRANSPORT_DTLS;
	cfg->lifetime = 60;
	strcpy(cfg->binding, "U");
	cfg->hs.min_ms = 1000;
	cfg->hs.max_ms = 8000;
	cfg->request_timeout_ms = 5000;
	cfg->resumption_size = 4096;
	cfg->recv_buffer_size = SHIM_RECV_BUFFER_MAX;
	cfg->validation = 1;
	/* As Anjay: a new session re-registers, a resumed one or a restored
	 * CID context keeps the registration and sends nothing. */
	cfg->after_connect.full_handshake = SHIM_AFTER_REGISTER;
	cfg->after_connect.resumed = SHIM_AFTER_NOTHING;
	cfg->after_connect.cid_restored = SHIM_AFTER_NOTHING;
}

/* Transport, endpoint and the scalar options. */
static int parse_main(const json_t *obj, shim_config_t *cfg, perr_t *e)
{
	const char *p = "$.config";
	char server[300] = "", transport[8] = "dtls", cid[2 * SL_CID_MAX + 1] = "",
	     version[8] = "1.2";
	long rsize = (long)cfg->resumption_size, mtu = 0, rbs = (long)cfg->recv_buffer_size;
	const json_t *v;

	if (get_str(obj, p, "server", server, sizeof(server), 1, e) < 0 ||
	    get_str(obj, p, "transport", transport, sizeof(transport), 0, e) < 0 ||
	    get_str(obj, p, "min_version", version, sizeof(version), 0, e) < 0 ||
	    get_str(obj, p, "endpoint", cfg->endpoint, sizeof(cfg->endpoint), 1, e) < 0 ||
	    get_str(obj, p, "binding", cfg->binding, sizeof(cfg->binding), 0, e) < 0 ||
	    get_str(obj, p, "keylog", cfg->keylog, sizeof(cfg->keylog), 0, e) < 0 ||
	    get_str(obj, p, "own_cid_hex", cid, sizeof(cid), 0, e) < 0 ||
	    get_int(obj, p, "lifetime", 1, 0x7fffffff, &cfg->lifetime, e) < 0 ||
	    get_int(obj, p, "request_timeout_ms", 1, 600000, &cfg->request_timeout_ms, e) < 0 ||
	    get_int(obj, p, "resumption_buffer_size", 0, 65536, &rsize, e) < 0 ||
	    get_int(obj, p, "mtu", 68, 65535, &mtu, e) < 0 ||
	    get_int(obj, p, "recv_buffer_size", 1, SHIM_RECV_BUFFER_MAX, &rbs, e) < 0)
		return -1;
	if (shim_config_split_server(server, cfg))
		return fail(e, "%s.server: expected \"host:port\" or \"[v6]:port\", got \"%s\"", p,
			    server);
	if (strcmp(transport, "dtls") && strcmp(transport, "tls"))
		return fail(e, "%s.transport: expected \"dtls\" or \"tls\"", p);
	if (strcmp(version, "1.2") && strcmp(version, "1.3"))
		return fail(e, "%s.min_version: expected \"1.2\" or \"1.3\"", p);
	cfg->min_version = strcmp(version, "1.3") ? SL_VERSION_TLS1_2 : SL_VERSION_TLS1_3;
	cfg->transport = strcmp(transport, "tls") ? SL_TRANSPORT_DTLS : SL_TRANSPORT_TLS;
	cfg->resumption_size = (size_t)rsize;
	cfg->mtu = (uint32_t)mtu;
	cfg->recv_buffer_size = (size_t)rbs;
	if (*cid &&
	    get_hex(obj, p, "own_cid_hex", cfg->own_cid, SL_CID_MAX, &cfg->own_cid_len, e) < 0)
		return -1;
	v = json_object_get(obj, "use_connection_id");
	if (v && !json_is_boolean(v))
		return fail(e, "%s.use_connection_id: expected true or false", p);
	cfg->use_cid = v && json_is_true(v);
	v = json_object_get(obj, "queue_mode");
	if (v && !json_is_boolean(v))
		return fail(e, "%s.queue_mode: expected true or false", p);
	cfg->queue_mode = v && json_is_true(v);
	v = json_object_get(obj, "sni");
	if (v && !json_is_null(v) && get_str(obj, p, "sni", cfg->sni, sizeof(cfg->sni), 0, e) < 0)
		return -1;
	cfg->has_sni = v && json_is_string(v);
	return 0;
}

/* Parses the whole config object. */
int shim_config_parse(const json_t *obj, shim_config_t *cfg, char *msg, size_t msg_size)
{
	static const char *const keys[] = {"server",
					   "transport",
					   "security",
					   "endpoint",
					   "lifetime",
					   "binding",
					   "use_connection_id",
					   "queue_mode",
					   "own_cid_hex",
					   "sni",
					   "ciphersuites",
					   "handshake_timeout_ms",
					   "request_timeout_ms",
					   "keylog",
					   "resumption_buffer_size",
					   "mtu",
					   "recv_buffer_size",
					   "dane",
					   "min_version",
					   "extra_objects",
					   "after_connect",
					   NULL};
	perr_t e = {msg, msg_size};
	const json_t *v;

	set_defaults(cfg);
	if (check_keys(obj, "$.config", keys, &e) || parse_main(obj, cfg, &e))
		return -1;
	v = json_object_get(obj, "security");
	if (!v)
		return fail(&e, "$.config.security: missing (expected {\"mode\":\"psk\",...})");
	if (parse_security(v, cfg, &e))
		return -1;
	if ((v = json_object_get(obj, "ciphersuites")) && parse_suites(v, cfg, &e))
		return -1;
	if ((v = json_object_get(obj, "handshake_timeout_ms")) && parse_hs(v, cfg, &e))
		return -1;
	v = json_object_get(obj, "dane");
	if (v && shim_config_parse_dane(v, "$.config.dane", cfg, msg, msg_size))
		return -1;
	v = json_object_get(obj, "extra_objects");
	if (v && shim_objects_parse(v, "$.config.extra_objects", &cfg->objects, msg, msg_size))
		return -1;
	if ((v = json_object_get(obj, "after_connect")) && parse_after(v, cfg, &e))
		return -1;
	return 0;
}

/* Fills the layer configuration; strings point into cfg, which must live on. */
void shim_config_to_layer(const shim_config_t *cfg, sl_config_t *out, unsigned char *rbuf,
			  size_t rbuf_size)
{
	memset(out, 0, sizeof(*out));
	out->transport = cfg->transport;
	out->min_version = cfg->min_version;
	out->mode = cfg->mode;
	out->psk.identity = cfg->identity;
	out->psk.key = cfg->key;
	out->psk.key_len = cfg->key_len;
	out->cert.server_cert_validation = cfg->validation;
	out->cert.trust_store_file = *cfg->trust_store ? cfg->trust_store : NULL;
	out->cert.crl_file = *cfg->crl ? cfg->crl : NULL;
	out->cert.client_chain_file = *cfg->client_chain ? cfg->client_chain : NULL;
	out->cert.client_key_file = *cfg->client_key ? cfg->client_key : NULL;
	out->cert.client_key_password = *cfg->key_password ? cfg->key_password : NULL;
	out->resumption_buffer = rbuf;
	out->resumption_buffer_size = rbuf_size;
	out->ciphersuites = cfg->n_suites ? cfg->suites : NULL;
	out->num_ciphersuites = cfg->n_suites;
	out->sni = cfg->has_sni ? cfg->sni : NULL;
	out->use_connection_id = cfg->use_cid;
	out->own_cid = cfg->own_cid;
	out->own_cid_len = cfg->own_cid_len;
	out->handshake_timeouts = cfg->hs;
	out->keylog_file = *cfg->keylog ? cfg->keylog : NULL;
	out->mtu = cfg->mtu;
}
