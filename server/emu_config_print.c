/* --print-config: the effective configuration as JSON, itself a valid
 * config file that means the same (unset paths are left out). */
#include "emu_config.h"
#include "emu_http_cfg.h"
#include "emu_vhost.h"

#include <mbedtls/ssl.h>

#include "lh_hex.h"

/* A port as JSON: its number, or "off". */
static json_t *port_json(int port)
{
	return port == EMU_PORT_OFF ? json_string("off") : json_integer(port);
}

/* The PSK table as a config array. */
static json_t *psk_json(const struct emu_config *cfg)
{
	json_t *psk = json_array();
	struct emu_psk_view p;
	size_t cursor = 0;
	while (emu_psks_next(&cfg->psk, &cursor, &p)) {
		char hex[2 * EMU_PSK_KEY_MAX + 1];
		lh_hex_encode(p.key, p.key_len, hex);
		json_array_append_new(psk, json_pack("{s:s, s:s, s:s*}", "identity", p.identity,
						     "key_hex", hex, "endpoint",
						     p.endpoint[0] ? p.endpoint : NULL));
	}
	return psk;
}

/* The ciphersuite list as names. */
static json_t *suites_json(const struct emu_config *cfg)
{
	json_t *suites = json_array();
	for (size_t i = 0; cfg->ciphersuites[i]; i++)
		json_array_append_new(
		    suites, json_string(mbedtls_ssl_get_ciphersuite_name(cfg->ciphersuites[i])));
	return suites;
}

static const char *const auth[] = {"none", "optional", "required"};

/* One vhost with everything it sets, so the output means the same config
 * (CID settings as resolved by emu_config_finish when it ran). */
static json_t *vhost_json(const struct emu_vhost_cfg *v)
{
	const struct emu_config *c = v->c;
	json_t *o = json_pack("{s:s, s:{s:b, s:i}}", "name", v->name, "cid", "enabled",
			      c->cid_enabled, "length", c->cid_length);
	if (c->psk.count)
		json_object_set_new(o, "psk", psk_json(c));
	if (c->ciphersuites[0])
		json_object_set_new(o, "ciphersuites", suites_json(c));
	if (c->cert_file || c->ca_file || c->client_auth)
		json_object_set_new(o, "certificate",
				    json_pack("{s:s*, s:s*, s:s*, s:s}", "cert", c->cert_file,
					      "key", c->key_file, "ca", c->ca_file, "client_auth",
					      auth[c->client_auth]));
	return o;
}

/* $.dtls as it is in effect. */
static json_t *dtls_json(const struct emu_config *cfg)
{
	return json_pack(
	    "{s:b, s:b, s:b, s:I, s:I, s:I, s:I, s:{s:b, s:i}, s:{s:I, s:I}, s:o, s:i}", "cookies",
	    cfg->cookies, "anti_replay", cfg->anti_replay, "pack_records", cfg->pack_records,
	    "badmac_limit", (json_int_t)cfg->badmac_limit, "idle_timeout",
	    (json_int_t)cfg->dtls_idle_s, "hibernate_after", (json_int_t)cfg->hibernate_after_s,
	    "hibernate_max_awake", (json_int_t)cfg->hibernate_max_awake, "cid", "enabled",
	    cfg->cid_enabled, "length", cfg->cid_length, "handshake_timeout_ms", "min",
	    (json_int_t)cfg->hs_min_ms, "max", (json_int_t)cfg->hs_max_ms, "ciphersuites",
	    suites_json(cfg), "mtu", cfg->mtu);
}

json_t *emu_config_to_json(const struct emu_config *cfg)
{
	json_t *psk = psk_json(cfg), *vhosts = json_array();
	for (size_t i = 0; i < cfg->vhost_count; i++)
		json_array_append_new(vhosts, vhost_json(&cfg->vhosts[i]));
	json_t *o = json_pack("{s:s, s:{s:o, s:o, s:o}, s:o}", "bind", cfg->bind, "ports", "coap",
			      port_json(cfg->coap_port), "dtls", port_json(cfg->dtls_port), "tls",
			      port_json(cfg->tls_port), "psk", psk);
	json_object_set_new(o, "dtls", dtls_json(cfg));
	json_object_set_new(
	    o, "resumption",
	    json_pack("{s:b, s:b}", "cache", cfg->session_cache, "tickets", cfg->session_tickets));
	json_object_set_new(o, "certificate",
			    json_pack("{s:s*, s:s*, s:s*, s:s, s:O*}", "cert", cfg->cert_file,
				      "key", cfg->key_file, "ca", cfg->ca_file, "client_auth",
				      auth[cfg->client_auth], "endpoints", cfg->cert_endpoints));
	char send[32];
	snprintf(send, sizeof(send), "%d.%02d", cfg->send_code >> 5, cfg->send_code & 31);
	json_object_set_new(o, "lwm2m",
			    json_pack("{s:I, s:I, s:s, s:{s:I, s:I, s:I}}", "min_lifetime",
				      (json_int_t)cfg->min_lifetime, "max_lifetime",
				      (json_int_t)cfg->max_lifetime, "send_code", send, "queue",
				      "awake_ms", (json_int_t)cfg->queue_awake_ms, "max_requests",
				      (json_int_t)cfg->queue_max, "timeout_s",
				      (json_int_t)cfg->queue_timeout_s));
	json_object_set_new(o, "coap",
			    json_pack("{s:I, s:I}", "idle_timeout", (json_int_t)cfg->coap_idle_s,
				      "max_sessions", (json_int_t)cfg->coap_max_sessions));
	json_object_set_new(
	    o, "limits",
	    json_pack("{s:I, s:I, s:I, s:I, s:I}", "handshakes", (json_int_t)cfg->limits[0],
		      "tls_connections", (json_int_t)cfg->limits[1], "control_clients",
		      (json_int_t)cfg->limits[2], "block1_bytes", (json_int_t)cfg->limits[3],
		      "requests_per_device", (json_int_t)cfg->requests_per_device));
	json_object_set_new(o, "vhosts", vhosts);
	json_object_set_new(o, "state_interval", json_integer((json_int_t)cfg->state_interval_s));
	json_object_set_new(o, "state_format", json_string(cfg->state_binary ? "binary" : "json"));
	int missing =
	    cfg->sni_reject_missing < 0 ? cfg->sni_reject_unknown : cfg->sni_reject_missing;
	json_object_set_new(o, "sni",
			    json_pack("{s:s, s:s}", "unknown",
				      cfg->sni_reject_unknown ? "reject" : "default", "missing",
				      missing ? "reject" : "default"));
	if (cfg->bootstrap)
		json_object_set(o, "bootstrap", cfg->bootstrap);
	/* Unset paths are left out, so the output is itself a valid config. */
	json_t *paths = json_pack("{s:s*, s:s*, s:s*, s:s*, s:s*}", "events", cfg->events, "keylog",
				  cfg->keylog, "control", cfg->control, "state", cfg->state,
				  "models", cfg->models_dir);
	json_object_update(o, paths);
	json_decref(paths);
	if (cfg->http)
		json_object_set_new(o, "http", emu_http_cfg_json(cfg));
	return o;
}
