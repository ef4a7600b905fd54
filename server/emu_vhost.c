/* SNI virtual hosts: the demux (DTLS) or emu_tls.c (TLS/TCP) reads the
 * server_name of the first ClientHello and sets the session up with that
 * vhost's Mbed TLS config; Mbed TLS's SNI callback then records the name
 * and refuses unknown ones when the config says so. */
#include "emu_server.h"
#include "emu_dtls.h"
#include "emu_vhost.h"
#include "emu_reload.h"
#include "emu_tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lh_event.h"

/* Lower-cases a name into out (size bytes); -1 when it does not fit. */
static int lower_name(const uint8_t *name, size_t len, char *out, size_t size)
{
	if (len == 0 || len >= size)
		return -1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower(name[i]);
	out[len] = '\0';
	return 0;
}

/* True when a (NUL-terminated) server_name is an IPv4 or IPv6 literal. */
static int is_ip_literal(const char *name)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* RFC 6066 §3 forbids an IP literal as server_name, yet clients send one
 * when pointed at coaps://127.0.0.1 (Anjay does by default): it names no
 * host, so it counts as no SNI at all for vhost selection and policy. */
static int sni_is_ip_literal(const uint8_t *name, size_t len)
{
	char text[INET6_ADDRSTRLEN + 1];
	if (len == 0 || len >= sizeof(text))
		return 0;
	memcpy(text, name, len);
	text[len] = '\0';
	return is_ip_literal(text);
}

struct emu_vhost *emu_vhost_find(struct emu_server *srv, const uint8_t *name, size_t len)
{
	char key[256];
	struct emu_vhost *v = NULL;
	if (!sni_is_ip_literal(name, len) && lower_name(name, len, key, sizeof(key)) == 0)
		HASH_FIND_STR(*emu_gen_vhosts(srv), key, v);
	return v;
}

/* Sets up one vhost from its config into table; adds its CID length to
 * *lengths (bit L: L-byte CIDs). */
static int vhost_open(struct emu_server *srv, struct emu_vhost **table,
		      const struct emu_vhost_cfg *vc, uint64_t *lengths)
{
	struct emu_vhost *v = calloc(1, sizeof(*v));
	if (!v)
		return -1;
	snprintf(v->name, sizeof(v->name), "%s", vc->name);
	mbedtls_ssl_config_init(&v->conf);
	mbedtls_ssl_config_init(&v->tls_conf);
	HASH_ADD_STR(*table, name, v);
	/* emu_config_finish gave vc->c the server's CID settings it lacked. */
	v->cid_enabled = vc->c->cid_enabled;
	v->cid_length = vc->c->cid_length;
	if (emu_dtls_setup_conf(srv, &v->conf, vc->c, v->cid_enabled) != 0 ||
	    emu_x509_setup(srv, &v->x509, &v->conf, vc->c, v->name, v->name) < 0 ||
	    emu_tls_setup_conf(srv, &v->tls_conf, vc->c, &v->x509, &v->x509) != 0) {
		fprintf(stderr, "lwm2m-emulator: cannot set up vhost \"%s\"\n", v->name);
		return -1;
	}
	if (v->cid_enabled && v->cid_length > 0)
		*lengths |= 1ULL << v->cid_length;
	v->psk_table = vc->c->psk.count ? &vc->c->psk : NULL;
	return 0;
}

int emu_vhosts_open(struct emu_server *srv, const struct emu_config *cfg, struct emu_vhost **table,
		    uint64_t *lengths)
{
	*lengths = cfg->cid_enabled && cfg->cid_length > 0 ? 1ULL << cfg->cid_length : 0;
	for (size_t i = 0; i < cfg->vhost_count; i++)
		if (vhost_open(srv, table, &cfg->vhosts[i], lengths) < 0)
			return -1;
	return 0;
}

int emu_vhosts_init(struct emu_server *srv)
{
	uint64_t lengths = 0;
	if (emu_vhosts_open(srv, srv->cfg, &srv->vhosts, &lengths) < 0)
		return -1;
	emu_vhost_cid_set(srv, lengths);
	return 0;
}

/* Lists the lengths of mask ("4, 8") into buf. */
static void lengths_text(uint64_t mask, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int l = 1; l <= EMU_CID_MAX && n < size; l++)
		if (mask & (1ULL << l))
			n += (size_t)snprintf(buf + n, size - n, "%s%d", n ? ", " : "", l);
}

int emu_vhost_cid_plan(const struct emu_server *srv, uint64_t lengths, uint64_t *out, char *err,
		       size_t err_size)
{
	char text[128];
	uint64_t u = lengths;
	for (int l = 1; l <= EMU_CID_MAX; l++)
		if (srv->sessions.cid_count[l])
			u |= 1ULL << l;
	*out = u;
	if ((u & (u - 1)) == 0)
		return 0;
	lengths_text(u, text, sizeof(text));
	if (u & (1ULL << 1)) {
		snprintf(
		    err, err_size,
		    "CID settings ($.dtls.cid, $.vhosts[].cid) would put CIDs of several lengths "
		    "in use (%s bytes, live sessions included), and a CID length of 1 cannot be "
		    "mixed with other lengths (a 1-byte CID cannot name its length)",
		    text);
		return -1;
	}
	if (srv->sessions.cid_unprefixed == 0)
		return 0;
	snprintf(err, err_size,
		 "CID settings ($.dtls.cid, $.vhosts[].cid) would put CIDs of several lengths "
		 "in use (%s bytes, live sessions included): the demux then reads a CID's "
		 "length from its first byte, which the CIDs of %zu live session(s) do not "
		 "name (1-byte CIDs, or CIDs restored from a run that assigned them "
		 "differently); close them (ctl close_session) or restart",
		 text, srv->sessions.cid_unprefixed);
	return -1;
}

void emu_vhost_cid_set(struct emu_server *srv, uint64_t lengths)
{
	srv->cid_lengths = lengths;
	srv->cid_any = lengths != 0;
	srv->cid_mixed = (lengths & (lengths - 1)) != 0;
}

int emu_vhost_cid_len(const struct emu_server *srv, const uint8_t *cid, size_t avail)
{
	if (!srv->cid_mixed)
		return srv->cid_lengths ? __builtin_ctzll(srv->cid_lengths) : -1;
	size_t len = avail ? EMU_CID_LEN_OF(cid[0]) : 0;
	if (len == 0 || !(srv->cid_lengths & (1ULL << len)))
		return -1;
	return (int)len;
}

void emu_vhosts_fini(struct emu_server *srv)
{
	emu_vhosts_free(&srv->vhosts);
}

void emu_vhosts_free(struct emu_vhost **table)
{
	struct emu_vhost *v, *tmp;
	HASH_ITER(hh, *table, v, tmp)
	{
		HASH_DEL(*table, v);
		mbedtls_ssl_config_free(&v->conf);
		mbedtls_ssl_config_free(&v->tls_conf);
		emu_x509_free(&v->x509);
		free(v);
	}
}

/* RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted", and
 * the name has no trailing dot. Returns the violation or NULL. */
static const char *sni_violation(const char *name)
{
	size_t len = strlen(name);
	if (is_ip_literal(name))
		return "ip_literal";
	if (len > 0 && name[len - 1] == '.')
		return "trailing_dot";
	return NULL;
}

/* Whether the name Mbed TLS parsed is an unknown one for a TLS/TCP
 * session: emu_tls.c read the ClientHello's SNI before setting the context
 * up with that vhost's stream config (s->vhost, of the generation the
 * session holds). 1: unknown, 0: the vhost it was set up for, -1: another
 * vhost than that (the two parsers disagree, e.g. over a second
 * server_name extension): refused rather than served with the wrong
 * vhost's credentials. */
static int tls_name_unknown(const struct emu_session *s, const unsigned char *name, size_t len)
{
	char key[256];
	struct emu_vhost *v = NULL;
	if (!sni_is_ip_literal(name, len) && lower_name(name, len, key, sizeof(key)) == 0)
		HASH_FIND_STR(*emu_gen_session_vhosts(s), key, v);
	if (v != s->vhost)
		return -1;
	return v == NULL;
}

int emu_vhost_sni_cb(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
	struct emu_server *srv = p;
	struct emu_session *s = mbedtls_ssl_get_user_data_p(ssl);
	size_t n = len < 255 ? len : 255;
	int unknown = s && s->tp->proto == COAP_PROTO_TCP ? tls_name_unknown(s, name, len)
							  : !emu_vhost_find(srv, name, len);
	if (s) {
		for (size_t i = 0; i < n; i++)
			s->sni[i] = name[i] >= 0x20 && name[i] < 0x7f ? (char)name[i] : '?';
		s->sni[n] = '\0';
		const char *bad = sni_violation(s->sni);
		if (bad)
			lh_event_emitf("sni_violation", "{s:I, s:s, s:s}", "session",
				       (json_int_t)s->id, "sni", s->sni, "violation", bad);
	}
	/* An IP literal meets the "missing" policy in emu_vhost_cert_cb. */
	if (unknown > 0 && sni_is_ip_literal(name, len))
		return 0;
	if (unknown < 0 || (unknown && emu_gen_cfg(srv)->sni_reject_unknown))
		return -1; /* Mbed TLS answers with unrecognized_name */
	return 0;
}

/* Mbed TLS calls this once the ClientHello is parsed, with or without SNI.
 * The SNI callback only runs when a name was sent, so this is where a
 * ClientHello without one (or with an IP literal, which names no host)
 * meets the "missing" policy (by default the same as for unknown names):
 * reject with unrecognized_name, or go on with the default vhost. */
int emu_vhost_cert_cb(mbedtls_ssl_context *ssl)
{
	struct emu_session *s = mbedtls_ssl_get_user_data_p(ssl);
	if (!s || (s->sni[0] && !is_ip_literal(s->sni)))
		return 0;
	const struct emu_config *cfg = emu_gen_cfg(s->srv);
	int reject =
	    cfg->sni_reject_missing < 0 ? cfg->sni_reject_unknown : cfg->sni_reject_missing;
	if (!reject)
		return 0;
	mbedtls_ssl_send_alert_message(ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
				       MBEDTLS_SSL_ALERT_MSG_UNRECOGNIZED_NAME);
	return MBEDTLS_ERR_SSL_UNRECOGNIZED_NAME;
}
