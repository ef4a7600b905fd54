#ifndef EMU_CONFIG_H
#define EMU_CONFIG_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "emu_psks.h"

/* The emulator's settings: built-in defaults, then the JSON config file, then
 * command-line flags (docs/protocol.md). Validation is strict: an unknown key
 * or a wrong type is an error naming the JSON path or the flag. */

#define EMU_PORT_OFF (-1)
#define EMU_PSK_KEY_MAX 64
#define EMU_PSK_IDENTITY_MAX 128
#define EMU_PSK_ENDPOINT_MAX 255
#define EMU_CID_MAX 32
#define EMU_CIPHERSUITES_MAX 32

#define EMU_DEFAULT_PSK_IDENTITY "lwm2m-emulator"
/* ASCII "lwm2m-secret-key": printable so text-only clients can type it. */
#define EMU_DEFAULT_PSK_HEX "6c776d326d2d7365637265742d6b6579"

struct emu_config;
struct emu_models;

/* A virtual host chosen by the ClientHello's SNI: its own PSK table,
 * certificate (generated for its name when none is given), client CA set
 * and auth mode, ciphersuites and CID on/off. */
struct emu_vhost_cfg {
	char name[256];	      /* lower case */
	struct emu_config *c; /* only psk, certificate, ciphersuites, cid_enabled/length */
	int cid_set;	      /* cid_enabled given (else inherited) */
	int cid_length_set;   /* cid length given (else inherited) */
};

struct emu_config {
	char bind[64];
	int coap_port, dtls_port, tls_port; /* EMU_PORT_OFF, 0 = ephemeral */
	int tls_port_given;		    /* else the default: skipped if busy */
	/* identity -> key, with the endpoint each may register ("" = any:
	 * Register of another is 4.03) and where it was given, named on
	 * duplicates; also the run-time table (emu_psks.h) */
	struct emu_psks psk;
	int cookies;
	int cid_enabled;
	int cid_length;
	uint32_t hs_min_ms, hs_max_ms;
	int ciphersuites[EMU_CIPHERSUITES_MAX + 1]; /* 0-terminated; empty = all */
	int mtu;
	int anti_replay; /* DTLS replay window (default on) */
	/* Join the records an open session sends while reading one datagram
	 * into one datagram (default off: one record per datagram). */
	int pack_records;
	/* Bad-MAC records on an open session's own address before it is closed
	 * (RFC 6347 §4.1.2.7); 0 = never (the default: spoofable). */
	uint32_t badmac_limit;
	/* Open DTLS sessions: closed after this many seconds without an
	 * authenticated datagram unless a live registration uses them; 0 =
	 * never (emu_idle.c). */
	uint32_t dtls_idle_s;
	/* Open DTLS sessions quiet for this many seconds are hibernated (their
	 * Mbed TLS context serialized and freed, emu_hibernate.c); 0 = never.
	 * At most hibernate_max_awake woken ones hold a context at once. */
	uint32_t hibernate_after_s, hibernate_max_awake;
	int session_cache, session_tickets;
	uint32_t min_lifetime, max_lifetime;
	int send_code; /* the answer to a registered device's Send (POST /dp), e.g. 2.04 */
	/* Queue mode (binding Q): a sleeping device's requests wait, at most
	 * queue_max of them, each at most queue_timeout_s; a device that sent
	 * something counts as awake for queue_awake_ms. */
	uint32_t queue_awake_ms, queue_max, queue_timeout_s;
	/* $.limits: handshakes in progress, TLS connections, control clients,
	 * Block1 bytes (indexed by enum emu_limit), and server requests per
	 * device. */
	uint64_t limits[4];
	uint32_t requests_per_device;
	/* Plain CoAP peers: a session per address, closed after this many
	 * seconds without a datagram unless a live registration uses it; at
	 * most this many at once. */
	uint32_t coap_idle_s, coap_max_sessions;
	char *events;		   /* NULL: human lines on stdout; "-": JSON on stdout */
	char *keylog;		   /* NULL: off */
	char *control;		   /* NULL: no control socket */
	char *state;		   /* NULL: a restart loses everything */
	uint32_t state_interval_s; /* periodic --state save; 0: only at SIGTERM */
	int state_binary;	   /* --state-format binary (emu_state_bin.c); else JSON */
	char *cert_file, *key_file, *ca_file; /* NULL cert: generate one */
	int client_auth;		      /* 0 none, 1 optional, 2 required */
	/* $.certificate.endpoints: [{cn|subject, endpoint}] (emu_certbind.h);
	 * a Register or Update for another endpoint is 4.03. NULL: none. */
	json_t *cert_endpoints;
	int print_config;
	struct emu_vhost_cfg *vhosts;
	size_t vhost_count;
	int sni_reject_unknown; /* else unknown names get the default vhost */
	int sni_reject_missing; /* no SNI at all; -1: as sni_reject_unknown */
	json_t *bootstrap;	/* {"writes": [...], "finish": bool}, NULL: defaults */
	/* --models / $.models: a directory of OMA DDF XML files, loaded by
	 * emu_config_finish over the built-in object models (emu_model.h). */
	char *models_dir;
	const char *models_where; /* "--models" or "$.models", named in errors */
	struct emu_models *models;
	/* $.http, --http, --http-token: the HTTP API and dashboard (emu_http.c). */
	char *http;	  /* "ADDR:PORT" or "PORT" (127.0.0.1); NULL: off */
	char *http_token; /* bearer token state-changing requests need; NULL: none */
	uint32_t http_max_clients, http_max_body, http_sse_max;
};

enum emu_args_result { EMU_ARGS_RUN, EMU_ARGS_EXIT_OK, EMU_ARGS_ERROR };

/* Fills in the built-in defaults (no PSK yet: see emu_config_finish). */
void emu_config_defaults(struct emu_config *cfg);
/* Releases what the config owns. */
void emu_config_free(struct emu_config *cfg);
/* Applies a parsed JSON config object. Returns 0, or -1 with err naming the
 * JSON path and what was expected. */
int emu_config_apply_json(struct emu_config *cfg, const json_t *root, char *err, size_t err_size);
/* Reads and applies a config file; errors include the file name and, for
 * JSON syntax errors, line and column. */
int emu_config_load_file(struct emu_config *cfg, const char *path, char *err, size_t err_size);
/* Parses the command line (config file first, then flags over it). Prints
 * --help/--version to out. */
enum emu_args_result emu_config_parse_args(struct emu_config *cfg, int argc, char **argv, FILE *out,
					   char *err, size_t err_size);
/* Adds a PSK from "IDENTITY:HEXKEY" text. Returns 0 or -1 with err. */
int emu_config_add_psk_text(struct emu_config *cfg, const char *text, char *err, size_t err_size);
/* Adds the default PSK when none was configured; checks cross-field rules. */
int emu_config_finish(struct emu_config *cfg, char *err, size_t err_size);
/* A response code "c.dd" -> its byte (2.04 -> 0x44), or -1. */
int emu_config_code(const char *text);
/* "none"/"optional"/"required" -> 0/1/2, or -1. */
int emu_config_client_auth(const char *text);
/* The effective configuration as JSON (for --print-config and status). */
json_t *emu_config_to_json(const struct emu_config *cfg);

#endif
