#include "emu_config.h"
#include "emu_jstream.h"
#include "emu_model.h"
#include "emu_certbind.h"
#include "emu_cbor.h"
#include "emu_http_cfg.h"
#include "emu_vhost.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <malloc.h>
#include <mbedtls/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "lh_hex.h"

void emu_config_defaults(struct emu_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->bind, sizeof(cfg->bind), "0.0.0.0");
	cfg->coap_port = 5683;
	cfg->dtls_port = 5684;
	cfg->tls_port = 5684; /* TCP */
	cfg->cookies = 1;
	cfg->cid_enabled = 0;
	cfg->cid_length = 8;
	cfg->hs_min_ms = 1000;
	cfg->hs_max_ms = 60000;
	cfg->mtu = 1400;
	cfg->coap_idle_s = 247; /* RFC 7252 EXCHANGE_LIFETIME */
	cfg->dtls_idle_s = 600; /* emu_idle.h, docs/protocol.md */
	/* emu_hibernate.h, docs/protocol.md: past a CoAP exchange's usual
	 * retransmissions, so an active device is never put to sleep between
	 * two messages of one exchange. */
	cfg->hibernate_after_s = 60;
	cfg->hibernate_max_awake = 4096;
	cfg->coap_max_sessions = 1024;
	cfg->anti_replay = 1;
	cfg->session_cache = 1;
	cfg->session_tickets = 1;
	cfg->min_lifetime = 1;
	cfg->max_lifetime = 86400;
	cfg->send_code = 0x44;	     /* 2.04 Changed */
	cfg->queue_awake_ms = 93000; /* MAX_TRANSMIT_WAIT, the LwM2M default */
	cfg->queue_max = 16;
	cfg->queue_timeout_s = 600;
	cfg->limits[0] = 4096;	   /* handshakes in progress */
	cfg->limits[1] = 4096;	   /* TLS connections */
	cfg->limits[2] = 64;	   /* control clients */
	cfg->limits[3] = 16 << 20; /* Block1 reassembly bytes */
	cfg->requests_per_device = 64;
	cfg->sni_reject_missing = -1;
	cfg->state_interval_s = 5; /* emu_state.h: crash-safe state */
	cfg->http_max_clients = 32;
	cfg->http_max_body = 64 << 10;
	cfg->http_sse_max = 1 << 20;
}

void emu_config_free(struct emu_config *cfg)
{
	emu_psks_free(&cfg->psk);
	free(cfg->events);
	free(cfg->keylog);
	free(cfg->control);
	free(cfg->http);
	free(cfg->http_token);
	cfg->http = cfg->http_token = NULL;
	free(cfg->state);
	cfg->state = NULL;
	free(cfg->state);
	cfg->state = NULL;
	free(cfg->cert_file);
	free(cfg->key_file);
	free(cfg->ca_file);
	cfg->events = cfg->keylog = cfg->control = NULL;
	cfg->cert_file = cfg->key_file = cfg->ca_file = NULL;
	for (size_t i = 0; i < cfg->vhost_count; i++) {
		emu_config_free(cfg->vhosts[i].c);
		free(cfg->vhosts[i].c);
	}
	free(cfg->vhosts);
	cfg->vhosts = NULL;
	json_decref(cfg->bootstrap);
	cfg->bootstrap = NULL;
	free(cfg->models_dir);
	cfg->models_dir = NULL;
	emu_models_free(cfg->models);
	cfg->models = NULL;
	json_decref(cfg->cert_endpoints);
	cfg->cert_endpoints = NULL;
	cfg->vhost_count = 0;
}

/* Rejects keys the schema does not know: a typo must not silently do nothing. */
static int check_keys(const json_t *obj, const char *path, const char *const *allowed, char *err,
		      size_t err_size)
{
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val)
	{
		size_t i;
		for (i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (!allowed[i]) {
			snprintf(err, err_size, "%s.%s: unknown key", path, key);
			return -1;
		}
	}
	return 0;
}

/* Reads an optional integer within [min, max]; absent leaves *out as is. */
static int get_int(const json_t *obj, const char *key, const char *path, long long min,
		   long long max, long long *out, char *err, size_t err_size)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, err_size, "%s.%s: expected integer %lld..%lld", path, key, min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* Reads an optional boolean; absent leaves *out as is. */
static int get_bool(const json_t *obj, const char *key, const char *path, int *out, char *err,
		    size_t err_size)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, err_size, "%s.%s: expected true or false", path, key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* Reads an optional object; absent gives NULL and success. */
static int get_object(const json_t *obj, const char *key, const char *path, const json_t **out,
		      char *err, size_t err_size)
{
	*out = json_object_get(obj, key);
	if (*out && !json_is_object(*out)) {
		snprintf(err, err_size, "%s.%s: expected an object", path, key);
		return -1;
	}
	return 0;
}

/* Replaces *dst with a copy of an optional string member. */
static int get_string(const json_t *obj, const char *key, const char *path, char **dst, char *err,
		      size_t err_size)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0) {
		snprintf(err, err_size, "%s.%s: expected a non-empty string", path, key);
		return -1;
	}
	char *copy = strdup(json_string_value(v));
	if (!copy) {
		snprintf(err, err_size, "%s.%s: out of memory", path, key);
		return -1;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

/* A port is an integer 0..65535 (0 = any free port) or "off". */
static int get_port(const json_t *obj, const char *key, int *out, char *err, size_t err_size)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (json_is_string(v) && strcmp(json_string_value(v), "off") == 0) {
		*out = EMU_PORT_OFF;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535) {
		snprintf(err, err_size, "$.ports.%s: expected integer 0..65535 or \"off\"", key);
		return -1;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

/* Appends one PSK given at src[index] (index EMU_PSKS_NO_INDEX: at src)
 * after checking identity length and key size. */
static int add_psk(struct emu_config *cfg, const char *identity, const char *hex,
		   const char *endpoint, const char *src, uint32_t index, char *err,
		   size_t err_size)
{
	unsigned char key[EMU_PSK_KEY_MAX];
	char where[96];
	size_t ilen = strlen(identity);
	if (index == EMU_PSKS_NO_INDEX)
		snprintf(where, sizeof(where), "%s", src);
	else
		snprintf(where, sizeof(where), "%s[%u]", src, index);
	if (ilen == 0 || ilen > EMU_PSK_IDENTITY_MAX) {
		snprintf(err, err_size, "%s: identity must be 1..%d bytes", where,
			 EMU_PSK_IDENTITY_MAX);
		return -1;
	}
	int klen = lh_hex_decode(hex, key, sizeof(key));
	if (klen <= 0) {
		snprintf(err, err_size, "%s: key must be 1..%d bytes of hex (got \"%s\")", where,
			 EMU_PSK_KEY_MAX, hex);
		return -1;
	}
	return emu_psks_add(&cfg->psk, identity, key, (size_t)klen, endpoint, src, index, err,
			    err_size);
}

/* The optional endpoint of one $.psk[i]: NULL when absent, "" on error. */
static const char *psk_endpoint(const json_t *item, const char *path, char *err, size_t err_size)
{
	const json_t *ep = json_object_get(item, "endpoint");
	if (!ep)
		return NULL;
	if (!json_is_string(ep) || json_string_length(ep) == 0 ||
	    json_string_length(ep) >= EMU_PSK_ENDPOINT_MAX + 1) {
		snprintf(err, err_size, "%s.endpoint: expected an endpoint name", path);
		return "";
	}
	return json_string_value(ep);
}

/* One $.psk[i]: {identity, key_hex, endpoint?}; i within the table's
 * index range (the tree's and the streamed elements' one check). */
static int apply_psk_item(struct emu_config *cfg, const json_t *item, const char *where, size_t i,
			  char *err, size_t err_size)
{
	static const char *const keys[] = {"identity", "key_hex", "endpoint", NULL};
	char path[96];
	if (i >= EMU_PSKS_NO_INDEX) {
		snprintf(err, err_size, "%s: more than %u identities", where,
			 EMU_PSKS_NO_INDEX - 1);
		return -1;
	}
	snprintf(path, sizeof(path), "%s[%zu]", where, i);
	if (!json_is_object(item)) {
		snprintf(err, err_size, "%s: expected an object", path);
		return -1;
	}
	if (check_keys(item, path, keys, err, err_size) < 0)
		return -1;
	const json_t *id = json_object_get(item, "identity");
	const json_t *key = json_object_get(item, "key_hex");
	if (!json_is_string(id) || !json_is_string(key)) {
		snprintf(err, err_size, "%s: identity and key_hex must both be strings", path);
		return -1;
	}
	const char *ep = psk_endpoint(item, path, err, err_size);
	if (ep && !ep[0])
		return -1;
	return add_psk(cfg, json_string_value(id), json_string_value(key), ep, where, (uint32_t)i,
		       err, err_size);
}

/* $.psk: an array of {identity, key_hex}. */
static int apply_psk(struct emu_config *cfg, const json_t *arr, const char *where, char *err,
		     size_t err_size)
{
	size_t i;
	const json_t *item;
	if (!json_is_array(arr)) {
		snprintf(err, err_size, "%s: expected an array of {identity, key_hex}", where);
		return -1;
	}
	json_array_foreach(arr, i, item)
	{
		if (apply_psk_item(cfg, item, where, i, err, err_size) < 0)
			return -1;
	}
	return 0;
}

/* $.dtls.ciphersuites: Mbed TLS suite names, e.g. TLS-PSK-WITH-AES-128-CCM-8. */
static int apply_suites(struct emu_config *cfg, const json_t *arr, const char *where, char *err,
			size_t err_size)
{
	size_t i;
	const json_t *item;
	if (!json_is_array(arr) || json_array_size(arr) > EMU_CIPHERSUITES_MAX) {
		snprintf(err, err_size, "%s: expected an array of at most %d names", where,
			 EMU_CIPHERSUITES_MAX);
		return -1;
	}
	json_array_foreach(arr, i, item)
	{
		int id = json_is_string(item)
			     ? mbedtls_ssl_get_ciphersuite_id(json_string_value(item))
			     : 0;
		if (id == 0) {
			snprintf(err, err_size,
				 "%s[%zu]: not a ciphersuite this Mbed TLS knows "
				 "(use names like \"TLS-PSK-WITH-AES-128-CCM-8\")",
				 where, i);
			return -1;
		}
		cfg->ciphersuites[i] = id;
	}
	cfg->ciphersuites[json_array_size(arr)] = 0;
	return 0;
}

/* $.dtls.cid: {enabled, length}. */
static int apply_cid(struct emu_config *cfg, const json_t *cid, char *err, size_t err_size)
{
	static const char *const keys[] = {"enabled", "length", NULL};
	long long len = cfg->cid_length;
	if (check_keys(cid, "$.dtls.cid", keys, err, err_size) < 0 ||
	    get_bool(cid, "enabled", "$.dtls.cid", &cfg->cid_enabled, err, err_size) < 0 ||
	    get_int(cid, "length", "$.dtls.cid", 0, EMU_CID_MAX, &len, err, err_size) < 0)
		return -1;
	cfg->cid_length = (int)len;
	return 0;
}

/* $.dtls.handshake_timeout_ms: {min, max}. */
static int apply_hs_timeout(struct emu_config *cfg, const json_t *t, char *err, size_t err_size)
{
	static const char *const keys[] = {"min", "max", NULL};
	const char *path = "$.dtls.handshake_timeout_ms";
	long long min = cfg->hs_min_ms, max = cfg->hs_max_ms;
	if (check_keys(t, path, keys, err, err_size) < 0 ||
	    get_int(t, "min", path, 1, 3600000, &min, err, err_size) < 0 ||
	    get_int(t, "max", path, 1, 3600000, &max, err, err_size) < 0)
		return -1;
	cfg->hs_min_ms = (uint32_t)min;
	cfg->hs_max_ms = (uint32_t)max;
	return 0;
}

/* $.dtls: cookies, cid, timeouts, suites, mtu, anti-replay, bad-MAC limit,
 * idle timeout, record packing. */
static int apply_dtls(struct emu_config *cfg, const json_t *d, char *err, size_t err_size)
{
	static const char *const keys[] = {"cookies",
					   "cid",
					   "handshake_timeout_ms",
					   "ciphersuites",
					   "mtu",
					   "anti_replay",
					   "badmac_limit",
					   "idle_timeout",
					   "pack_records",
					   "hibernate_after",
					   "hibernate_max_awake",
					   NULL};
	const json_t *cid, *hs, *suites = json_object_get(d, "ciphersuites");
	long long mtu = cfg->mtu, badmac = cfg->badmac_limit, idle = cfg->dtls_idle_s;
	long long hib = cfg->hibernate_after_s, awake = cfg->hibernate_max_awake;
	if (check_keys(d, "$.dtls", keys, err, err_size) < 0 ||
	    get_bool(d, "cookies", "$.dtls", &cfg->cookies, err, err_size) < 0 ||
	    get_bool(d, "anti_replay", "$.dtls", &cfg->anti_replay, err, err_size) < 0 ||
	    get_bool(d, "pack_records", "$.dtls", &cfg->pack_records, err, err_size) < 0 ||
	    get_object(d, "cid", "$.dtls", &cid, err, err_size) < 0 ||
	    get_object(d, "handshake_timeout_ms", "$.dtls", &hs, err, err_size) < 0 ||
	    get_int(d, "mtu", "$.dtls", 64, 65535, &mtu, err, err_size) < 0 ||
	    get_int(d, "badmac_limit", "$.dtls", 0, 1000000000, &badmac, err, err_size) < 0 ||
	    get_int(d, "idle_timeout", "$.dtls", 0, 604800, &idle, err, err_size) < 0 ||
	    get_int(d, "hibernate_after", "$.dtls", 0, 604800, &hib, err, err_size) < 0 ||
	    get_int(d, "hibernate_max_awake", "$.dtls", 1, 10000000, &awake, err, err_size) < 0)
		return -1;
	cfg->dtls_idle_s = (uint32_t)idle;
	cfg->hibernate_after_s = (uint32_t)hib;
	cfg->hibernate_max_awake = (uint32_t)awake;
	cfg->mtu = (int)mtu;
	cfg->badmac_limit = (uint32_t)badmac;
	if (cid && apply_cid(cfg, cid, err, err_size) < 0)
		return -1;
	if (hs && apply_hs_timeout(cfg, hs, err, err_size) < 0)
		return -1;
	if (suites && apply_suites(cfg, suites, "$.dtls.ciphersuites", err, err_size) < 0)
		return -1;
	return 0;
}

/* $.lwm2m: lifetime bounds a Register's lt must respect. */
/* A CoAP response code written "c.dd" (2.04, 4.00, 5.03) into its byte;
 * -1 when it is not a response code. */
int emu_config_code(const char *text)
{
	unsigned c, d;
	char tail;
	if (!text || sscanf(text, "%1u.%2u%c", &c, &d, &tail) != 2 || strlen(text) != 4 || c < 2 ||
	    c > 5 || d > 31)
		return -1;
	return (int)(c << 5 | d);
}

/* $.lwm2m.queue: awake_ms, max_requests, timeout_s. */
static int apply_queue(struct emu_config *cfg, const json_t *q, char *err, size_t err_size)
{
	static const char *const keys[] = {"awake_ms", "max_requests", "timeout_s", NULL};
	long long awake = cfg->queue_awake_ms, max = cfg->queue_max, to = cfg->queue_timeout_s;
	if (!json_is_object(q)) {
		snprintf(err, err_size, "$.lwm2m.queue: expected an object");
		return -1;
	}
	if (check_keys(q, "$.lwm2m.queue", keys, err, err_size) < 0 ||
	    get_int(q, "awake_ms", "$.lwm2m.queue", 0, 86400000, &awake, err, err_size) < 0 ||
	    get_int(q, "max_requests", "$.lwm2m.queue", 1, 10000, &max, err, err_size) < 0 ||
	    get_int(q, "timeout_s", "$.lwm2m.queue", 1, 86400 * 30, &to, err, err_size) < 0)
		return -1;
	cfg->queue_awake_ms = (uint32_t)awake;
	cfg->queue_max = (uint32_t)max;
	cfg->queue_timeout_s = (uint32_t)to;
	return 0;
}

/* $.lwm2m: lifetime bounds, the Send answer, queue mode. */
static int apply_lwm2m(struct emu_config *cfg, const json_t *l, char *err, size_t err_size)
{
	static const char *const keys[] = {"min_lifetime", "max_lifetime", "send_code", "queue",
					   NULL};
	long long min = cfg->min_lifetime, max = cfg->max_lifetime;
	const json_t *sc = json_object_get(l, "send_code"), *q = json_object_get(l, "queue");
	if (check_keys(l, "$.lwm2m", keys, err, err_size) < 0 ||
	    get_int(l, "min_lifetime", "$.lwm2m", 1, 0xffffffffLL, &min, err, err_size) < 0 ||
	    get_int(l, "max_lifetime", "$.lwm2m", 1, 0xffffffffLL, &max, err, err_size) < 0 ||
	    (q && apply_queue(cfg, q, err, err_size) < 0))
		return -1;
	if (sc && emu_config_code(json_string_value(sc)) < 0) {
		snprintf(err, err_size,
			 "$.lwm2m.send_code: expected a response code such as \"2.04\", \"4.00\" "
			 "or \"5.03\"");
		return -1;
	}
	if (sc)
		cfg->send_code = emu_config_code(json_string_value(sc));
	cfg->min_lifetime = (uint32_t)min;
	cfg->max_lifetime = (uint32_t)max;
	return 0;
}

/* "none" / "optional" / "required" into 0 / 1 / 2. */
int emu_config_client_auth(const char *text)
{
	static const char *const names[] = {"none", "optional", "required"};
	for (int i = 0; i < 3; i++)
		if (text && strcmp(text, names[i]) == 0)
			return i;
	return -1;
}

/* $.certificate.endpoints: endpoint names bound to client certificates
 * (checked for every session, so not per vhost). */
static int apply_cert_endpoints(struct emu_config *cfg, const json_t *c, const char *p, char *err,
				size_t err_size)
{
	const json_t *eps = json_object_get(c, "endpoints");
	char sub[128];
	if (!eps)
		return 0;
	snprintf(sub, sizeof(sub), "%s.endpoints", p);
	if (strcmp(p, "$.certificate") != 0)
		return snprintf(err, err_size,
				"%s: endpoint bindings apply to every session: give them "
				"in $.certificate.endpoints",
				sub),
		       -1;
	if (emu_certbind_check(eps, sub, err, err_size) < 0)
		return -1;
	json_decref(cfg->cert_endpoints);
	cfg->cert_endpoints = json_deep_copy(eps);
	return 0;
}

/* $.certificate: {cert, key, ca, client_auth, endpoints}. */
static int apply_certificate(struct emu_config *cfg, const json_t *c, const char *p, char *err,
			     size_t err_size)
{
	static const char *const keys[] = {"cert", "key", "ca", "client_auth", "endpoints", NULL};
	const json_t *auth = json_object_get(c, "client_auth");
	if (check_keys(c, p, keys, err, err_size) < 0 ||
	    apply_cert_endpoints(cfg, c, p, err, err_size) < 0 ||
	    get_string(c, "cert", p, &cfg->cert_file, err, err_size) < 0 ||
	    get_string(c, "key", p, &cfg->key_file, err, err_size) < 0 ||
	    get_string(c, "ca", p, &cfg->ca_file, err, err_size) < 0)
		return -1;
	if (auth && (cfg->client_auth = emu_config_client_auth(json_string_value(auth))) < 0) {
		snprintf(err, err_size,
			 "%s.client_auth: expected \"none\", \"optional\" or "
			 "\"required\"",
			 p);
		return -1;
	}
	return 0;
}

/* $.resumption: {cache, tickets}. */
static int apply_resumption(struct emu_config *cfg, const json_t *r, char *err, size_t err_size)
{
	static const char *const keys[] = {"cache", "tickets", NULL};
	if (check_keys(r, "$.resumption", keys, err, err_size) < 0 ||
	    get_bool(r, "cache", "$.resumption", &cfg->session_cache, err, err_size) < 0 ||
	    get_bool(r, "tickets", "$.resumption", &cfg->session_tickets, err, err_size) < 0)
		return -1;
	return 0;
}

/* One $.vhosts[i]: name, psk, certificate, ciphersuites, cid.enabled. */
static int apply_vhost(struct emu_vhost_cfg *v, const json_t *o, const char *p, char *err,
		       size_t err_size)
{
	static const char *const keys[] = {"name",	   "psk", "certificate",
					   "ciphersuites", "cid", NULL};
	static const char *const cid_keys[] = {"enabled", "length", NULL};
	long long cid_len = 0;
	char sub[128];
	const json_t *name = json_object_get(o, "name"), *cid = json_object_get(o, "cid"), *x;
	if (!json_is_object(o) || check_keys(o, p, keys, err, err_size) < 0)
		return json_is_object(o)
			   ? -1
			   : (snprintf(err, err_size, "%s: expected an object", p), -1);
	if (!json_is_string(name) || json_string_length(name) == 0 ||
	    json_string_length(name) >= sizeof(v->name)) {
		snprintf(err, err_size, "%s.name: expected a host name (1..255 bytes)", p);
		return -1;
	}
	for (size_t i = 0; i <= json_string_length(name); i++)
		v->name[i] = (char)tolower((unsigned char)json_string_value(name)[i]);
	snprintf(sub, sizeof(sub), "%s.psk", p);
	if ((x = json_object_get(o, "psk")) && apply_psk(v->c, x, sub, err, err_size) < 0)
		return -1;
	snprintf(sub, sizeof(sub), "%s.certificate", p);
	if ((x = json_object_get(o, "certificate")) &&
	    (!json_is_object(x) || apply_certificate(v->c, x, sub, err, err_size) < 0))
		return json_is_object(x)
			   ? -1
			   : (snprintf(err, err_size, "%s: expected an object", sub), -1);
	snprintf(sub, sizeof(sub), "%s.ciphersuites", p);
	if ((x = json_object_get(o, "ciphersuites")) &&
	    apply_suites(v->c, x, sub, err, err_size) < 0)
		return -1;
	snprintf(sub, sizeof(sub), "%s.cid", p);
	if (cid && (!json_is_object(cid) || check_keys(cid, sub, cid_keys, err, err_size) < 0 ||
		    get_bool(cid, "enabled", sub, &v->c->cid_enabled, err, err_size) < 0 ||
		    get_int(cid, "length", sub, 0, EMU_CID_MAX, &cid_len, err, err_size) < 0))
		return json_is_object(cid)
			   ? -1
			   : (snprintf(err, err_size, "%s: expected an object", sub), -1);
	v->cid_set = cid && json_object_get(cid, "enabled");
	v->cid_length_set = cid && json_object_get(cid, "length");
	v->c->cid_length = (int)cid_len;
	return 0;
}

/* $.vhosts: an array of virtual hosts with distinct names. */
static int apply_vhosts(struct emu_config *cfg, const json_t *arr, char *err, size_t err_size)
{
	size_t i;
	const json_t *item;
	if (!json_is_array(arr)) {
		snprintf(err, err_size, "$.vhosts: expected an array of {name, ...}");
		return -1;
	}
	json_array_foreach(arr, i, item)
	{
		char p[48];
		struct emu_vhost_cfg *grown =
		    realloc(cfg->vhosts, (cfg->vhost_count + 1) * sizeof(*grown));
		if (!grown)
			return -1;
		cfg->vhosts = grown;
		struct emu_vhost_cfg *v = &cfg->vhosts[cfg->vhost_count];
		memset(v, 0, sizeof(*v));
		v->c = calloc(1, sizeof(*v->c));
		if (!v->c)
			return -1;
		cfg->vhost_count++;
		snprintf(p, sizeof(p), "$.vhosts[%zu]", i);
		if (apply_vhost(v, item, p, err, err_size) < 0)
			return -1;
		for (size_t j = 0; j + 1 < cfg->vhost_count; j++)
			if (strcmp(cfg->vhosts[j].name, v->name) == 0) {
				snprintf(err, err_size, "%s.name: \"%s\" is also $.vhosts[%zu]", p,
					 v->name, j);
				return -1;
			}
	}
	return 0;
}

/* $.limits: what peers can make the emulator hold. */
static int apply_limits(struct emu_config *cfg, const json_t *l, char *err, size_t err_size)
{
	static const char *const keys[] = {"handshakes",   "tls_connections",	  "control_clients",
					   "block1_bytes", "requests_per_device", NULL};
	long long v[5] = {(long long)cfg->limits[0], (long long)cfg->limits[1],
			  (long long)cfg->limits[2], (long long)cfg->limits[3],
			  cfg->requests_per_device};
	if (!json_is_object(l)) {
		snprintf(err, err_size, "$.limits: expected an object");
		return -1;
	}
	if (check_keys(l, "$.limits", keys, err, err_size) < 0)
		return -1;
	for (int i = 0; i < 5; i++)
		if (get_int(l, keys[i], "$.limits", 1, i == 3 ? 1LL << 32 : 1000000, &v[i], err,
			    err_size) < 0)
			return -1;
	for (int i = 0; i < 4; i++)
		cfg->limits[i] = (uint64_t)v[i];
	cfg->requests_per_device = (uint32_t)v[4];
	return 0;
}

/* $.bootstrap.writes[i]: one operation the server performs after a
 * Bootstrap-Request, before Bootstrap-Finish. */
static int check_bs_op(const json_t *op, const char *p, char *err, size_t err_size)
{
	static const char *const keys[] = {"method",  "path",	     "format",
					   "payload", "payload_hex", NULL};
	const char *m = json_string_value(json_object_get(op, "method"));
	const char *path = json_string_value(json_object_get(op, "path"));
	if (!json_is_object(op)) {
		snprintf(err, err_size, "%s: expected an object {method, path, ...}", p);
		return -1;
	}
	if (check_keys(op, p, keys, err, err_size) < 0)
		return -1;
	if (m && strcmp(m, "write") && strcmp(m, "delete") && strcmp(m, "write_partial") &&
	    strcmp(m, "discover") && strcmp(m, "read")) {
		snprintf(err, err_size,
			 "%s.method: expected write, write_partial, delete, read or "
			 "discover",
			 p);
		return -1;
	}
	if (!path || path[0] != '/') {
		snprintf(err, err_size, "%s.path: expected a path such as \"/0/1\"", p);
		return -1;
	}
	return 0;
}

/* $.bootstrap.pack (LwM2M 1.2 Bootstrap-Pack, served in SenML CBOR): an
 * array of SenML records; pack_code: the answer when there is none. */
static int check_bs_pack(const json_t *b, char *err, size_t err_size)
{
	const json_t *pack = json_object_get(b, "pack"), *code = json_object_get(b, "pack_code");
	uint8_t *cbor = NULL;
	char inner[160];
	if (code && emu_config_code(json_string_value(code)) < 0) {
		snprintf(err, err_size,
			 "$.bootstrap.pack_code: expected a response code such as "
			 "\"4.04\"");
		return -1;
	}
	if (pack && emu_cbor_senml_encode(pack, &cbor, inner, sizeof(inner)) == 0) {
		snprintf(err, err_size, "$.bootstrap.pack: %s", inner);
		return -1;
	}
	free(cbor);
	return 0;
}

/* $.bootstrap: {writes: [...], finish: bool, pack: [...], pack_code}. */
static int apply_bootstrap(struct emu_config *cfg, const json_t *b, char *err, size_t err_size)
{
	static const char *const keys[] = {"writes", "finish", "pack", "pack_code", NULL};
	const json_t *w = json_object_get(b, "writes"), *op;
	int finish = 1;
	size_t i;
	if (check_keys(b, "$.bootstrap", keys, err, err_size) < 0 ||
	    get_bool(b, "finish", "$.bootstrap", &finish, err, err_size) < 0 ||
	    check_bs_pack(b, err, err_size) < 0)
		return -1;
	if (w && !json_is_array(w)) {
		snprintf(err, err_size, "$.bootstrap.writes: expected an array");
		return -1;
	}
	json_array_foreach(w, i, op)
	{
		char p[64];
		snprintf(p, sizeof(p), "$.bootstrap.writes[%zu]", i);
		if (check_bs_op(op, p, err, err_size) < 0)
			return -1;
	}
	json_decref(cfg->bootstrap);
	cfg->bootstrap = json_deep_copy(b);
	return 0;
}

/* One $.sni policy: "reject" -> 1, "default" -> 0, absent -> unchanged. */
static int sni_policy(const json_t *o, const char *key, int *out, char *err, size_t err_size)
{
	const json_t *v = json_object_get(o, key);
	const char *t = json_string_value(v);
	if (!v)
		return 0;
	if (!t || (strcmp(t, "reject") && strcmp(t, "default"))) {
		snprintf(err, err_size, "$.sni.%s: expected \"reject\" or \"default\"", key);
		return -1;
	}
	*out = strcmp(t, "reject") == 0;
	return 0;
}

/* $.sni: {"unknown": "reject" | "default", "missing": the same choices for
 * a ClientHello without SNI (default: as "unknown")}. */
static int apply_sni(struct emu_config *cfg, const json_t *o, char *err, size_t err_size)
{
	static const char *const keys[] = {"unknown", "missing", NULL};
	if (check_keys(o, "$.sni", keys, err, err_size) < 0 ||
	    sni_policy(o, "unknown", &cfg->sni_reject_unknown, err, err_size) < 0 ||
	    sni_policy(o, "missing", &cfg->sni_reject_missing, err, err_size) < 0)
		return -1;
	return 0;
}

/* $.coap: the plain CoAP peers' idle timeout and session limit. */
static int apply_coap(struct emu_config *cfg, const json_t *c, char *err, size_t err_size)
{
	static const char *const keys[] = {"idle_timeout", "max_sessions", NULL};
	long long idle = cfg->coap_idle_s, max = cfg->coap_max_sessions;
	if (check_keys(c, "$.coap", keys, err, err_size) < 0 ||
	    get_int(c, "idle_timeout", "$.coap", 1, 86400, &idle, err, err_size) < 0 ||
	    get_int(c, "max_sessions", "$.coap", 1, 1000000, &max, err, err_size) < 0)
		return -1;
	cfg->coap_idle_s = (uint32_t)idle;
	cfg->coap_max_sessions = (uint32_t)max;
	return 0;
}

/* $.ports: coap, dtls, tls. */
static int apply_ports(struct emu_config *cfg, const json_t *p, char *err, size_t err_size)
{
	static const char *const keys[] = {"coap", "dtls", "tls", NULL};
	if (check_keys(p, "$.ports", keys, err, err_size) < 0 ||
	    get_port(p, "coap", &cfg->coap_port, err, err_size) < 0 ||
	    get_port(p, "dtls", &cfg->dtls_port, err, err_size) < 0 ||
	    get_port(p, "tls", &cfg->tls_port, err, err_size) < 0)
		return -1;
	cfg->tls_port_given |= json_object_get(p, "tls") != NULL;
	return 0;
}

/* $.bind: a numeric address only, so no DNS happens behind the user's back. */
static int apply_bind(struct emu_config *cfg, const json_t *root, char *err, size_t err_size)
{
	const json_t *v = json_object_get(root, "bind");
	if (!v)
		return 0;
	struct in6_addr a;
	if (!json_is_string(v) || json_string_length(v) >= sizeof(cfg->bind) ||
	    (inet_pton(AF_INET, json_string_value(v), &a) != 1 &&
	     inet_pton(AF_INET6, json_string_value(v), &a) != 1)) {
		snprintf(err, err_size,
			 "$.bind: expected a numeric IPv4 or IPv6 address such as 127.0.0.1 "
			 "or ::1 (got %s)",
			 json_is_string(v) ? json_string_value(v) : "a non-string");
		return -1;
	}
	snprintf(cfg->bind, sizeof(cfg->bind), "%s", json_string_value(v));
	return 0;
}

/* $.state_interval: seconds between periodic --state saves (0: only at
 * SIGTERM); a day at most, so a typo cannot silently disable crash safety. */
static int apply_state_interval(struct emu_config *cfg, const json_t *root, char *err,
				size_t err_size)
{
	long long v = cfg->state_interval_s;
	const json_t *f = json_object_get(root, "state_format");
	if (get_int(root, "state_interval", "$", 0, 86400, &v, err, err_size) < 0)
		return -1;
	cfg->state_interval_s = (uint32_t)v;
	/* $.state_format: "json" or "binary" (emu_state_bin.h), as --state-format. */
	if (f && (!json_is_string(f) || (strcmp(json_string_value(f), "json") != 0 &&
					 strcmp(json_string_value(f), "binary") != 0))) {
		snprintf(err, err_size, "$.state_format: expected \"json\" or \"binary\"");
		return -1;
	}
	if (f)
		cfg->state_binary = json_string_value(f)[0] == 'b';
	return 0;
}

/* $.bootstrap when given: it must be an object. */
static int apply_bootstrap_member(struct emu_config *cfg, const json_t *bs, char *err,
				  size_t err_size)
{
	if (!bs)
		return 0;
	if (!json_is_object(bs)) {
		snprintf(err, err_size, "$.bootstrap: expected an object");
		return -1;
	}
	return apply_bootstrap(cfg, bs, err, err_size);
}

int emu_config_apply_json(struct emu_config *cfg, const json_t *root, char *err, size_t err_size)
{
	static const char *const keys[] = {
	    "bind",   "ports",	   "psk",	 "dtls",   "lwm2m",	     "events",
	    "keylog", "control",   "resumption", "state",  "certificate",    "vhosts",
	    "sni",    "bootstrap", "coap",	 "limits", "state_interval", "state_format",
	    "models", "http",	   NULL};
	const json_t *ports, *dtls, *lwm2m, *psk, *resumption, *cert, *sni, *vhosts, *coap;
	if (!json_is_object(root)) {
		snprintf(err, err_size, "$: expected a JSON object");
		return -1;
	}
	if (check_keys(root, "$", keys, err, err_size) < 0 ||
	    apply_bind(cfg, root, err, err_size) < 0 ||
	    get_object(root, "ports", "$", &ports, err, err_size) < 0 ||
	    get_object(root, "dtls", "$", &dtls, err, err_size) < 0 ||
	    get_object(root, "lwm2m", "$", &lwm2m, err, err_size) < 0 ||
	    get_object(root, "coap", "$", &coap, err, err_size) < 0 ||
	    get_object(root, "resumption", "$", &resumption, err, err_size) < 0 ||
	    get_object(root, "certificate", "$", &cert, err, err_size) < 0 ||
	    get_object(root, "sni", "$", &sni, err, err_size) < 0 ||
	    get_string(root, "events", "$", &cfg->events, err, err_size) < 0 ||
	    get_string(root, "keylog", "$", &cfg->keylog, err, err_size) < 0 ||
	    get_string(root, "control", "$", &cfg->control, err, err_size) < 0 ||
	    get_string(root, "state", "$", &cfg->state, err, err_size) < 0 ||
	    apply_state_interval(cfg, root, err, err_size) < 0 ||
	    get_string(root, "models", "$", &cfg->models_dir, err, err_size) < 0 ||
	    emu_http_cfg_apply(cfg, json_object_get(root, "http"), err, err_size) < 0)
		return -1;
	if (json_object_get(root, "models"))
		cfg->models_where = "$.models";
	if (ports && apply_ports(cfg, ports, err, err_size) < 0)
		return -1;
	if (dtls && apply_dtls(cfg, dtls, err, err_size) < 0)
		return -1;
	if (lwm2m && apply_lwm2m(cfg, lwm2m, err, err_size) < 0)
		return -1;
	if (coap && apply_coap(cfg, coap, err, err_size) < 0)
		return -1;
	if (resumption && apply_resumption(cfg, resumption, err, err_size) < 0)
		return -1;
	if (cert && apply_certificate(cfg, cert, "$.certificate", err, err_size) < 0)
		return -1;
	psk = json_object_get(root, "psk");
	if (psk && apply_psk(cfg, psk, "$.psk", err, err_size) < 0)
		return -1;
	if (sni && apply_sni(cfg, sni, err, err_size) < 0)
		return -1;
	if (apply_bootstrap_member(cfg, json_object_get(root, "bootstrap"), err, err_size) < 0)
		return -1;
	vhosts = json_object_get(root, "vhosts");
	if (vhosts && apply_vhosts(cfg, vhosts, err, err_size) < 0)
		return -1;
	if (json_object_get(root, "limits") &&
	    apply_limits(cfg, json_object_get(root, "limits"), err, err_size) < 0)
		return -1;
	return 0;
}

/* Where a streamed $.psk element goes, and where its error is written. */
struct psk_stream {
	struct emu_config *cfg;
	char *err;
	size_t err_size;
};

/* One $.psk[i] as the reader parsed it (emu_jstream_load's callback). */
static int stream_psk(void *ctx, size_t i, const json_t *item)
{
	struct psk_stream *ps = ctx;
	return apply_psk_item(ps->cfg, item, "$.psk", i, ps->err, ps->err_size);
}

/* $.psk is read one element at a time into the PSK table (emu_jstream.h),
 * the rest of the file as a tree. So a million identities never exist as
 * a jansson tree (~600 MB at start and at every reload, before this); the
 * table is what stays. A $.psk error is now found in file order, before
 * the checks of other members that apply_json makes; a syntax error
 * anywhere still comes first, with jansson's message. */
int emu_config_load_file(struct emu_config *cfg, const char *path, char *err, size_t err_size)
{
	json_error_t jerr;
	char inner[256];
	struct psk_stream ps = {cfg, inner, sizeof(inner)};
	json_t *root = NULL;
	int ret = -1;
	switch (emu_jstream_load(path, "psk", stream_psk, &ps, &root, &jerr)) {
	case EMU_JSTREAM_SYNTAX:
		snprintf(err, err_size, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		goto exit;
	case EMU_JSTREAM_CALLBACK:
		snprintf(err, err_size, "%s: %s", path, inner);
		goto exit;
	case EMU_JSTREAM_OK:
		break;
	}
	if (emu_config_apply_json(cfg, root, inner, sizeof(inner)) < 0) {
		snprintf(err, err_size, "%s: %s", path, inner);
		goto exit;
	}
	ret = 0;
exit:
	json_decref(root);
	/* What the tree of the other members and the parse left in small
	 * chunks the heap keeps resident: given back, as the server parses
	 * nothing that size again before a reload. */
	malloc_trim(0);
	return ret;
}

int emu_config_add_psk_text(struct emu_config *cfg, const char *text, char *err, size_t err_size)
{
	const char *colon = strrchr(text, ':');
	char identity[EMU_PSK_IDENTITY_MAX + 2];
	if (!colon || colon == text || (size_t)(colon - text) > EMU_PSK_IDENTITY_MAX) {
		snprintf(err, err_size,
			 "--psk %s: expected IDENTITY:HEXKEY, e.g. --psk "
			 "dev1:000102030405060708090a0b0c0d0e0f",
			 text);
		return -1;
	}
	memcpy(identity, text, (size_t)(colon - text));
	identity[colon - text] = '\0';
	return add_psk(cfg, identity, colon + 1, NULL, "--psk", EMU_PSKS_NO_INDEX, err, err_size);
}

/* Cross-field rules and the default PSK, applied once everything is read. */
/* Gives each vhost the server's CID settings it did not set itself, then
 * checks the mix: when hosts assign CIDs of different lengths, the first
 * byte of every CID names its length (how the demux finds it in a record
 * that does not carry one), so a 1-byte CID would have no random part. */
static int resolve_vhost_cids(struct emu_config *cfg, char *err, size_t err_size)
{
	uint64_t lengths = cfg->cid_enabled ? 1ULL << cfg->cid_length : 0;
	for (size_t i = 0; i < cfg->vhost_count; i++) {
		struct emu_vhost_cfg *v = &cfg->vhosts[i];
		if (!v->cid_set)
			v->c->cid_enabled = cfg->cid_enabled;
		if (!v->cid_length_set)
			v->c->cid_length = cfg->cid_length;
		if (v->c->cid_enabled)
			lengths |= 1ULL << v->c->cid_length;
	}
	lengths &= ~1ULL; /* a zero-length CID never appears in a record */
	if ((lengths & (lengths - 1)) && (lengths & 2)) {
		snprintf(err, err_size,
			 "$.vhosts: a CID length of 1 cannot be mixed with other "
			 "CID lengths (the first byte names the length)");
		return -1;
	}
	return 0;
}

/* Loads the DDF directory now, so a bad file stops the start (exit 2) with
 * the file, line and element, instead of decoding wrongly later. */
static int load_models(struct emu_config *cfg, char *err, size_t err_size)
{
	char msg[400];
	emu_models_free(cfg->models);
	cfg->models = NULL;
	if (!cfg->models_dir)
		return 0;
	cfg->models = emu_models_load_dir(cfg->models_dir, msg, sizeof(msg));
	if (cfg->models)
		return 0;
	snprintf(err, err_size, "%s: %s", cfg->models_where ? cfg->models_where : "--models", msg);
	return -1;
}

int emu_config_finish(struct emu_config *cfg, char *err, size_t err_size)
{
	if (load_models(cfg, err, err_size) < 0)
		return -1;
	if (resolve_vhost_cids(cfg, err, err_size) < 0)
		return -1;
	if (cfg->psk.count == 0 && add_psk(cfg, EMU_DEFAULT_PSK_IDENTITY, EMU_DEFAULT_PSK_HEX, NULL,
					   "default", EMU_PSKS_NO_INDEX, err, err_size) < 0)
		return -1;
	if (!cfg->cert_file != !cfg->key_file) {
		snprintf(err, err_size,
			 "$.certificate: cert and key go together (--cert with --key)");
		return -1;
	}
	if (cfg->client_auth == 2 && !cfg->ca_file) {
		snprintf(err, err_size,
			 "$.certificate.client_auth \"required\" needs a CA set (--ca FILE)");
		return -1;
	}
	if (cfg->hs_min_ms > cfg->hs_max_ms) {
		snprintf(err, err_size, "$.dtls.handshake_timeout_ms: min (%u) is above max (%u)",
			 cfg->hs_min_ms, cfg->hs_max_ms);
		return -1;
	}
	if (cfg->min_lifetime > cfg->max_lifetime) {
		snprintf(err, err_size, "$.lwm2m: min_lifetime (%u) is above max_lifetime (%u)",
			 cfg->min_lifetime, cfg->max_lifetime);
		return -1;
	}
	if (emu_psks_check(&cfg->psk, err, err_size) < 0)
		return -1;
	emu_psks_shrink(&cfg->psk);
	for (size_t i = 0; i < cfg->vhost_count; i++) {
		if (emu_psks_check(&cfg->vhosts[i].c->psk, err, err_size) < 0)
			return -1;
		emu_psks_shrink(&cfg->vhosts[i].c->psk);
	}
	return 0;
}
