/* Reloading credentials without dropping sessions: every reload builds a
 * generation (the default Mbed TLS config with its certificate, and the
 * vhosts with theirs); new handshakes use the newest one, and an older one
 * is freed when the last session set up with it closes (an Mbed TLS
 * context keeps using its config for as long as it lives). */
#include "emu_server.h"
#include "emu_dtls.h"
#include "emu_vhost.h"
#include "emu_reload.h"
#include "emu_ctxpool.h"
#include "emu_tls.h"

#include <stdlib.h>
#include <string.h>

#include "lh_event.h"

struct emu_gen {
	struct emu_config cfg; /* owns the strings and arrays the configs point to */
	mbedtls_ssl_config conf;
	mbedtls_ssl_config tls_conf; /* the same credentials for TLS over TCP */
	struct emu_x509 x509;
	struct emu_vhost *vhosts;
	size_t refs;	      /* sessions set up with this generation */
	struct emu_gen *next; /* on srv->retired */
};

const struct emu_config *emu_gen_cfg(const struct emu_server *srv)
{
	return srv->gen ? &srv->gen->cfg : srv->cfg;
}

mbedtls_ssl_config *emu_gen_conf(struct emu_server *srv)
{
	return srv->gen ? &srv->gen->conf : &srv->conf;
}

struct emu_vhost **emu_gen_vhosts(struct emu_server *srv)
{
	return srv->gen ? &srv->gen->vhosts : &srv->vhosts;
}

mbedtls_ssl_config *emu_gen_tls_conf(struct emu_server *srv)
{
	return srv->gen ? &srv->gen->tls_conf : &srv->tls_conf;
}

struct emu_vhost **emu_gen_session_vhosts(const struct emu_session *s)
{
	return s->gen ? &s->gen->vhosts : &s->srv->vhosts;
}

const char *emu_gen_fingerprint(const struct emu_server *srv)
{
	return srv->gen ? srv->gen->x509.fingerprint : srv->x509.fingerprint;
}

const struct emu_x509 *emu_gen_x509(const struct emu_session *s)
{
	return s->gen ? &s->gen->x509 : &s->srv->x509;
}

static void gen_free(struct emu_gen *gen)
{
	emu_vhosts_free(&gen->vhosts);
	mbedtls_ssl_config_free(&gen->conf);
	mbedtls_ssl_config_free(&gen->tls_conf);
	emu_x509_free(&gen->x509);
	emu_config_free(&gen->cfg);
	free(gen);
}

void emu_gen_hold(struct emu_session *s)
{
	s->gen = s->srv->gen;
	if (s->gen)
		s->gen->refs++;
}

/* Frees a retired generation once nobody uses it. */
void emu_gen_release(struct emu_server *srv, struct emu_gen *gen)
{
	if (!gen || --gen->refs > 0 || gen == srv->gen)
		return;
	for (struct emu_gen **p = &srv->retired; *p; p = &(*p)->next)
		if (*p == gen) {
			*p = gen->next;
			break;
		}
	gen_free(gen);
}

/* The default certificate: the configured one, or, when none is configured
 * and none was at start either, the self-signed one generated at start (a
 * device may have pinned it; it lives as long as the server). */
static int gen_certificate(struct emu_server *srv, struct emu_gen *gen)
{
	int own = gen->cfg.cert_file || !srv->x509.generated;
	const struct emu_x509 *leaf = own ? &gen->x509 : &srv->x509;
	int ret = own ? emu_x509_setup(srv, &gen->x509, &gen->conf, &gen->cfg, "lwm2m-emulator",
				       "default")
		      : emu_x509_setup_shared(&gen->x509, &srv->x509, &gen->conf, &gen->cfg);
	/* The TLS port presents the same certificate as the DTLS one. */
	if (ret == 0 && emu_tls_setup_conf(srv, &gen->tls_conf, &gen->cfg, leaf, &gen->x509) != 0)
		ret = -1;
	return ret;
}

/* A string setting that needs a restart: the running value stays. */
static void keep_str(char **fresh, char *const *running, const char *name, json_t *ignored)
{
	if ((*fresh == NULL) != (*running == NULL) || (*fresh && strcmp(*fresh, *running)))
		json_array_append_new(ignored, json_string(name));
	free(*fresh);
	*fresh = *running ? strdup(*running) : NULL;
}

/* A numeric setting that needs a restart: the running value stays. */
#define KEEP(field, name)                                                                          \
	do {                                                                                       \
		if (fresh->field != running->field)                                                \
			json_array_append_new(ignored, json_string(name));                         \
		fresh->field = running->field;                                                     \
	} while (0)

/* The one place that decides what a reload may change (docs/protocol.md,
 * `reload`): sockets, the cookie exchange, handshake timers, record sizes,
 * replay protection and resumption are set up once, so fresh keeps the
 * running values for them and ignored lists those it asked to change;
 * everything else takes effect (credentials, vhosts, CID, suites,
 * lifetimes, limits, bootstrap). */
void emu_gen_keep_restart_only(const struct emu_config *running, struct emu_config *fresh,
			       json_t *ignored)
{
	if (strcmp(fresh->bind, running->bind))
		json_array_append_new(ignored, json_string("bind"));
	memcpy(fresh->bind, running->bind, sizeof(fresh->bind));
	KEEP(coap_port, "coap port");
	KEEP(dtls_port, "dtls port");
	KEEP(tls_port, "tls port");
	KEEP(tls_port_given, "tls port");
	KEEP(cookies, "cookies");
	KEEP(hs_min_ms, "dtls.handshake_timeout_ms");
	KEEP(hs_max_ms, "dtls.handshake_timeout_ms");
	KEEP(mtu, "dtls.mtu");
	KEEP(anti_replay, "dtls.anti_replay");
	KEEP(session_cache, "resumption");
	KEEP(session_tickets, "resumption");
	keep_str(&fresh->events, &running->events, "events", ignored);
	keep_str(&fresh->keylog, &running->keylog, "keylog", ignored);
	keep_str(&fresh->control, &running->control, "control", ignored);
	keep_str(&fresh->state, &running->state, "state", ignored);
	keep_str(&fresh->http, &running->http, "http.listen", ignored);
	KEEP(http_max_clients, "http.max_clients");
}

int emu_gen_reload(struct emu_server *srv, struct emu_config *fresh, char *err, size_t err_size)
{
	uint64_t lengths = 0, demux_lengths = 0;
	struct emu_gen *gen = calloc(1, sizeof(*gen));
	if (!gen) {
		snprintf(err, err_size, "out of memory for the new credentials");
		return -1;
	}
	gen->cfg = *fresh;
	emu_config_defaults(fresh); /* gen owns what fresh pointed to */
	mbedtls_ssl_config_init(&gen->conf);
	mbedtls_ssl_config_init(&gen->tls_conf);
	if (emu_dtls_setup_conf(srv, &gen->conf, &gen->cfg, gen->cfg.cid_enabled) != 0 ||
	    gen_certificate(srv, gen) < 0 ||
	    emu_vhosts_open(srv, &gen->cfg, &gen->vhosts, &lengths) < 0) {
		snprintf(err, err_size,
			 "cannot set up the new certificates or vhosts "
			 "(see stderr); the old ones stay");
		gen_free(gen);
		return -1;
	}
	/* New CID settings apply to new handshakes; live sessions keep their
	 * CIDs, so the demux must go on finding those too. */
	if (emu_vhost_cid_plan(srv, lengths, &demux_lengths, err, err_size) < 0) {
		gen_free(gen);
		return -1;
	}
	/* Nothing can fail from here: the new table is swapped in whole. */
	emu_dtls_load_psks(srv, &gen->cfg);
	struct emu_gen *old = srv->gen;
	/* Pooled contexts point at the config being replaced. */
	emu_ctxpool_clear(srv);
	srv->gen = gen;
	emu_vhost_cid_set(srv, demux_lengths);
	if (old && old->refs == 0) {
		gen_free(old);
	} else if (old) {
		old->next = srv->retired;
		srv->retired = old;
	}
	return 0;
}

void emu_gen_fini(struct emu_server *srv)
{
	while (srv->retired) {
		struct emu_gen *next = srv->retired->next;
		gen_free(srv->retired);
		srv->retired = next;
	}
	if (srv->gen)
		gen_free(srv->gen);
	srv->gen = NULL;
}
