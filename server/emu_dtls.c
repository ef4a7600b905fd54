/* The Mbed TLS side of the emulator: one shared mbedtls_ssl_config, the
 * stateless cookie exchange, and one mbedtls_ssl_context per session fed
 * through in-memory bio callbacks by the demux. */
#include "emu_server.h"
#include "emu_dtls.h"
#include "emu_vhost.h"
#include "emu_reload.h"
#include "emu_resume.h"
#include "emu_demux.h"
#include "emu_events.h"

#include <errno.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <psa/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "emu_device.h"
#include "emu_amp.h"
#include "emu_idle.h"
#include "emu_keylog.h"
#include "emu_peer_ip.h"
#include "emu_record.h"
#include "emu_reneg.h"
#include "emu_ctxpool.h"
#include "emu_udp.h"
#include "lh_addr.h"
#include "lh_buf.h"
#include "lh_event.h"
#include "lh_hex.h"
#include "lh_time.h"

#define EMU_DGRAM_MAX 16384

/* Copies a PSK identity into printable text for events (bytes outside
 * printable ASCII become '?', so the JSON is always valid). */
static void copy_identity(char *dst, size_t size, const unsigned char *id, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (id[i] >= 0x20 && id[i] < 0x7f) ? (char)id[i] : '?';
	dst[n] = '\0';
}

/* Mbed TLS asks for the key of the identity the client sent; an unknown
 * identity makes it send unknown_psk_identity. */
int emu_dtls_psk_cb(void *p, mbedtls_ssl_context *ssl, const unsigned char *id, size_t id_len)
{
	struct emu_server *srv = p;
	struct emu_session *s = mbedtls_ssl_get_user_data_p(ssl);
	struct emu_psk_view e;
	const struct emu_psks *table =
	    s && s->vhost && s->vhost->psk_table ? s->vhost->psk_table : srv->psk_table;
	if (s)
		copy_identity(s->identity, sizeof(s->identity), id, id_len);
	if (!emu_psks_find(table, id, id_len, &e))
		return -1;
	return mbedtls_ssl_set_hs_psk(ssl, e.key, e.key_len);
}

void emu_dtls_load_psks(struct emu_server *srv, const struct emu_config *cfg)
{
	srv->psk_table = &cfg->psk;
}

/* Applies the DTLS knobs of the config to the shared mbedtls_ssl_config. */
int emu_dtls_setup_conf(struct emu_server *srv, mbedtls_ssl_config *conf,
			const struct emu_config *v, int cid_enabled)
{
	const struct emu_config *cfg = emu_gen_cfg(srv);
	int ret =
	    mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_DATAGRAM,
					MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret != 0)
		return ret;
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &srv->drbg);
	mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_psk_cb(conf, emu_dtls_psk_cb, srv);
	/* Mbed TLS's default cookie callbacks refuse everyone: NULL disables. */
	if (cfg->cookies)
		mbedtls_ssl_conf_dtls_cookies(conf, mbedtls_ssl_cookie_write,
					      mbedtls_ssl_cookie_check, &srv->cookie);
	else
		mbedtls_ssl_conf_dtls_cookies(conf, NULL, NULL, NULL);
	mbedtls_ssl_conf_handshake_timeout(conf, cfg->hs_min_ms, cfg->hs_max_ms);
	mbedtls_ssl_conf_dtls_anti_replay(conf, cfg->anti_replay
						    ? MBEDTLS_SSL_ANTI_REPLAY_ENABLED
						    : MBEDTLS_SSL_ANTI_REPLAY_DISABLED);
	if (v->ciphersuites[0])
		mbedtls_ssl_conf_ciphersuites(conf, v->ciphersuites);
	else if (cfg->ciphersuites[0])
		mbedtls_ssl_conf_ciphersuites(conf, cfg->ciphersuites);
	mbedtls_ssl_conf_sni(conf, emu_vhost_sni_cb, srv);
	mbedtls_ssl_conf_cert_cb(conf, emu_vhost_cert_cb);
	emu_resume_conf(srv, conf);
	if (cid_enabled) {
		ret = mbedtls_ssl_conf_cid(conf, (size_t)v->cid_length,
					   MBEDTLS_SSL_UNEXPECTED_CID_IGNORE);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int emu_dtls_init(struct emu_server *srv)
{
	static const char pers[] = "lwm2m-emulator";
	int ret = -1;
	char msg[128];
	mbedtls_entropy_init(&srv->entropy);
	mbedtls_ctr_drbg_init(&srv->drbg);
	mbedtls_ssl_cookie_init(&srv->cookie);
	mbedtls_ssl_config_init(&srv->conf);
	if (psa_crypto_init() != PSA_SUCCESS) {
		fprintf(stderr, "lwm2m-emulator: psa_crypto_init failed\n");
		goto exit;
	}
	ret = mbedtls_ctr_drbg_seed(&srv->drbg, mbedtls_entropy_func, &srv->entropy,
				    (const unsigned char *)pers, sizeof(pers) - 1);
	if (ret == 0)
		ret = mbedtls_ssl_cookie_setup(&srv->cookie, mbedtls_ctr_drbg_random, &srv->drbg);
	if (ret == 0 && emu_resume_init(srv) < 0)
		ret = -1;
	if (ret == 0)
		ret = emu_dtls_setup_conf(srv, &srv->conf, srv->cfg, emu_gen_cfg(srv)->cid_enabled);
	if (ret == 0 && (emu_x509_setup(srv, &srv->x509, &srv->conf, srv->cfg, "lwm2m-emulator",
					"default") < 0 ||
			 emu_vhosts_init(srv) < 0))
		ret = -1;
	if (ret != 0) {
		mbedtls_strerror(ret, msg, sizeof(msg));
		fprintf(stderr, "lwm2m-emulator: Mbed TLS setup failed: %s (%d)\n", msg, ret);
		goto exit;
	}
	emu_dtls_load_psks(srv, srv->cfg);
exit:
	return ret == 0 ? 0 : -1;
}

void emu_dtls_fini(struct emu_server *srv)
{
	srv->psk_table = NULL;
	emu_peer_ip_fini(srv);
	emu_gen_fini(srv);
	emu_vhosts_fini(srv);
	emu_resume_fini(srv);
	emu_x509_free(&srv->x509);
	mbedtls_ssl_config_free(&srv->conf);
	mbedtls_ssl_cookie_free(&srv->cookie);
	mbedtls_ctr_drbg_free(&srv->drbg);
	mbedtls_entropy_free(&srv->entropy);
}

/* Remembers the first plaintext alert among the records of a datagram, in
 * either direction, for handshake_failed. */
static void note_alert(const uint8_t *buf, size_t len, int alert[2])
{
	struct emu_record rec;
	while (len > 0 && emu_record_parse(buf, len, 0, &rec) == 0) {
		int level, desc;
		if (alert[0] == 0 && emu_record_alert(&rec, &level, &desc) == 0) {
			alert[0] = level;
			alert[1] = desc;
		}
		buf += rec.total_len;
		len -= rec.total_len;
	}
}

/* The wire: the faults, then the public socket. */
static int wire_send(struct emu_session *s, const uint8_t *buf, size_t len)
{
	struct emu_server *srv = s->srv;
	if (emu_faults_filter(srv, EMU_DIR_OUT, EMU_PATH_DTLS, buf, len,
			      (struct sockaddr *)&s->peer, s->peer_len))
		return (int)len;
	/* Queued for the end of the loop turn, after the event log is flushed
	 * (emu_udp.c): what led to this datagram is logged before a peer sees it. */
	if (emu_udp_send(srv, srv->dtls_fd, buf, len, (struct sockaddr *)&s->peer, s->peer_len) < 0)
		return MBEDTLS_ERR_NET_SEND_FAILED;
	s->bytes_out += len;
	return (int)len;
}

/* Sends the datagram joined while one datagram of the peer was read
 * ($.dtls.pack_records), and says how many sends it joined. */
static void pack_flush(struct emu_session *s)
{
	char peer[LH_ADDR_STRLEN];

	if (s->pack_len == 0)
		return;
	if (s->pack_count > 1)
		lh_event_emitf(
		    "datagram_packed", "{s:I, s:s, s:I, s:I}", "session", (json_int_t)s->id, "peer",
		    lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer)), "datagrams",
		    (json_int_t)s->pack_count, "bytes", (json_int_t)s->pack_len);
	/* UDP: a failed send is a lost datagram, which CoAP retransmits. */
	if (wire_send(s, s->pack_buf, s->pack_len) < 0)
		fprintf(stderr, "lwm2m-emulator: session %llu: packed datagram not sent\n",
			(unsigned long long)s->id);
	s->pack_len = 0;
	s->pack_count = 0;
}

/* bio_send while packing: Mbed TLS sends each record (a response, then the
 * request a queue-mode wake releases) on its own; they are appended to one
 * datagram up to the MTU, as a stack that coalesces its output does. */
static int pack_append(struct emu_session *s, const unsigned char *buf, size_t len)
{
	size_t mtu = (size_t)emu_gen_cfg(s->srv)->mtu;

	if (s->pack_len + len > mtu)
		pack_flush(s);
	if (!s->pack_buf && (s->pack_buf = malloc(mtu)))
		s->pack_cap = mtu;
	if (len > s->pack_cap)
		return wire_send(s, buf, len);
	memcpy(s->pack_buf + s->pack_len, buf, len);
	s->pack_len += len;
	s->pack_count++;
	return (int)len;
}

/* Mbed TLS's output: straight to the peer through the public socket. Before
 * the address is validated (cookies off) at most 3x the bytes received go
 * out (RFC 9147 §5.1); the rest is held back (emu_amp.c) and released as
 * the peer's datagrams raise the budget. Mbed TLS is told it was sent: its
 * own retransmissions must not overtake what is held. */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct emu_session *s = ctx;
	note_alert(buf, len, s->alert_sent);
	emu_reneg_note_output(s, buf, len);
	if (emu_amp_limited(s) && emu_amp_hold(s, buf, len))
		return (int)len;
	if (s->packing)
		return pack_append(s, buf, len);
	return wire_send(s, buf, len);
}

/* Mbed TLS's input: the one datagram the demux is currently delivering. */
static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct emu_session *s = ctx;
	if (!s->in_buf)
		return MBEDTLS_ERR_SSL_WANT_READ;
	size_t n = s->in_len < len ? s->in_len : len;
	memcpy(buf, s->in_buf, n);
	s->in_buf = NULL;
	s->in_len = 0;
	return (int)n;
}

/* Mbed TLS's retransmission timer, backed by the loop's timer heap. Once
 * the handshake is over Mbed TLS needs no timer (no renegotiation) but
 * still sets and cancels its read timer on every read: the session's timer
 * slot then belongs to the idle timeout (emu_idle.c). */
static void timer_set(void *ctx, uint32_t int_ms, uint32_t fin_ms)
{
	struct emu_session *s = ctx;
	int64_t now = lh_time_mono_ms();
	if (s->state == EMU_SESS_OPEN)
		return;
	s->timer_gen++;
	if (fin_ms == 0) {
		s->timer_int = s->timer_fin = 0;
		return;
	}
	s->timer_int = now + int_ms;
	s->timer_fin = now + fin_ms;
	if (emu_timers_push(&s->srv->timers, s->timer_fin, s->id, s->timer_gen) < 0)
		fprintf(stderr, "lwm2m-emulator: out of memory for a timer (session %llu)\n",
			(unsigned long long)s->id);
}

/* The matching getter, in Mbed TLS's convention (-1, 0, 1, 2). */
static int timer_get(void *ctx)
{
	struct emu_session *s = ctx;
	int64_t now = lh_time_mono_ms();
	if (s->timer_fin == 0 || s->state == EMU_SESS_OPEN)
		return -1;
	if (now >= s->timer_fin)
		return 2;
	return now >= s->timer_int ? 1 : 0;
}

/* Sends a HelloVerifyRequest without keeping any state for the peer. */
static void send_hvr(struct emu_server *srv, const struct emu_record *rec, uint16_t msg_seq,
		     const struct sockaddr *peer, socklen_t peer_len, const uint8_t *key,
		     size_t klen, int rejected)
{
	uint8_t cookie[EMU_COOKIE_MAX], out[512];
	unsigned char *p = cookie;
	char addr[LH_ADDR_STRLEN];
	if (mbedtls_ssl_cookie_write(&srv->cookie, &p, cookie + sizeof(cookie), key, klen) != 0)
		return;
	size_t n = emu_record_write_hvr_seq(out, sizeof(out), rec->seq, msg_seq, cookie,
					    (size_t)(p - cookie));
	if (n == 0 || emu_faults_filter(srv, EMU_DIR_OUT, EMU_PATH_DTLS, out, n, peer, peer_len) ||
	    emu_udp_send(srv, srv->dtls_fd, out, n, peer, peer_len) < 0)
		return;
	srv->stats.hello_verify_sent++;
	if (lh_event_wanted()) {
		struct lh_ev_field f[] = {LH_EV_S("peer", lh_addr_format(peer, addr, sizeof(addr))),
					  LH_EV_B("cookie_rejected", rejected)};
		lh_event_emit_fields("hello_verify_sent", f, 2);
	}
	/* After the event, so the log shows the HVR before the rotation. */
	emu_faults_hvr_sent(srv, peer, n);
}

/* Random draws for a free CID before the space counts as full. */
#define EMU_CID_TRIES 64

/* Every 1- or 2-byte CID in turn (s->cid_len set): 0 with the first free
 * one in s->cid, -1 when all are taken. */
static int scan_short_cid(struct emu_server *srv, struct emu_session *s)
{
	unsigned firsts = s->cid_len == 1 ? 256 : 8, seconds = s->cid_len == 1 ? 1 : 256;
	for (unsigned f = 0; f < firsts; f++)
		for (unsigned b = 0; b < seconds; b++) {
			s->cid[0] =
			    s->cid_len == 1 ? (uint8_t)f : emu_cid_first_byte(2, (uint8_t)f);
			s->cid[1] = (uint8_t)b;
			if (!emu_sessions_by_cid(&srv->sessions, s->cid, s->cid_len))
				return 0;
		}
	return -1;
}

/* Picks a random CID of the session's vhost's length not used by another
 * session. A tls12_cid record does not say how long its CID is, so every
 * CID of 2 bytes or more names its own length (EMU_CID_LEN_OF): the demux
 * can then tell where a record's CID ends whatever lengths are in use,
 * including after a reload that changed them while older CIDs live on. A
 * 1-byte CID is fully random (length 1 is never mixed with others). The
 * draws are bounded: a short CID's space can fill up (256 1-byte CIDs, 2048
 * 2-byte ones), so those are then searched in full, and a full space
 * refuses the handshake, never hangs. Returns 0, or -1 when none is free. */
static int choose_cid(struct emu_server *srv, struct emu_session *s)
{
	s->cid_len = (size_t)(s->vhost ? s->vhost->cid_length : emu_gen_cfg(srv)->cid_length);
	if (s->cid_len == 0)
		return 0;
	for (int tries = 0; tries < EMU_CID_TRIES; tries++) {
		mbedtls_ctr_drbg_random(&srv->drbg, s->cid, s->cid_len);
		if (s->cid_len >= 2)
			s->cid[0] = emu_cid_first_byte(s->cid_len, s->cid[0]);
		if (!emu_sessions_by_cid(&srv->sessions, s->cid, s->cid_len))
			return 0;
	}
	return s->cid_len <= 2 ? scan_short_cid(srv, s) : -1;
}

/* Allocates a session and sets up its Mbed TLS context with this server's
 * callbacks; it is not indexed yet. */
static struct emu_session *session_alloc(struct emu_server *srv, struct emu_vhost *vhost,
					 const struct sockaddr *peer, socklen_t peer_len)
{
	struct emu_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->srv = srv;
	s->tp = &emu_transport_dtls;
	s->tcp_fd = -1;
	memcpy(&s->peer, peer, peer_len);
	s->peer_len = peer_len;
	s->addr_key_len = emu_addr_key(peer, s->addr_key);
	s->started_ms = lh_time_mono_ms();
	s->vhost = vhost;
	/* A pooled context is fresh from mbedtls_ssl_session_reset: everything
	 * per session is set below, as on a new one. */
	if (emu_ctxpool_get(srv, &s->ssl, vhost ? &vhost->conf : emu_gen_conf(srv)) != 0 ||
	    mbedtls_ssl_set_client_transport_id(&s->ssl, s->addr_key, s->addr_key_len) != 0) {
		emu_ctxpool_put(srv, &s->ssl);
		free(s);
		return NULL;
	}
	/* vhost (if any) belongs to the current generation too. */
	emu_gen_hold(s);
	mbedtls_ssl_set_user_data_p(&s->ssl, s);
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	mbedtls_ssl_set_timer_cb(&s->ssl, s, timer_set, timer_get);
	mbedtls_ssl_set_mtu(&s->ssl, (uint16_t)emu_gen_cfg(srv)->mtu);
	emu_dtls_keys_attach(s);
	return s;
}

/* The per-peer state of a new handshake: only ever created once the cookie
 * checked out (or when cookies are off). NULL with *why on failure. */
static struct emu_session *session_new(struct emu_server *srv, struct emu_vhost *vhost,
				       const struct sockaddr *peer, socklen_t peer_len,
				       int verified, const char **why)
{
	struct emu_session *s = session_alloc(srv, vhost, peer, peer_len);
	*why = "out_of_memory";
	if (!s)
		return NULL;
	s->cookie_verified = verified;
	if (vhost ? vhost->cid_enabled : emu_gen_cfg(srv)->cid_enabled) {
		if (choose_cid(srv, s) < 0) {
			*why = "cid_space_full";
			goto err;
		}
		if (mbedtls_ssl_set_cid(&s->ssl, MBEDTLS_SSL_CID_ENABLED, s->cid, s->cid_len) != 0)
			goto err;
	}
	emu_sessions_add(&srv->sessions, s);
	emu_sessions_index_cid(&srv->sessions, s);
	emu_peer_ip_add(srv, peer);
	return s;
err:
	emu_ctxpool_put(srv, &s->ssl);
	emu_gen_release(srv, s->gen);
	free(s);
	return NULL;
}

struct emu_session *emu_dtls_restore(struct emu_server *srv, struct emu_vhost *vhost,
				     const struct sockaddr *peer, socklen_t peer_len,
				     const uint8_t *cid, size_t cid_len, const uint8_t *blob,
				     size_t len, char *err, size_t err_size)
{
	struct emu_session *s =
	    cid_len <= EMU_CID_MAX ? session_alloc(srv, vhost, peer, peer_len) : NULL;
	if (!s) {
		snprintf(err, err_size, "out of memory or CID too long");
		return NULL;
	}
	int ret = mbedtls_ssl_context_load(&s->ssl, blob, len);
	if (ret != 0) {
		/* context_load already freed the context on error. */
		snprintf(err, err_size, "mbedtls_ssl_context_load failed (%d)", ret);
		free(s);
		return NULL;
	}
	mbedtls_ssl_set_mtu(&s->ssl, (uint16_t)emu_gen_cfg(srv)->mtu);
	/* Mbed TLS does not serialize the CID it offered, only the one in
	 * incoming records' transform: the state file carries it. */
	memcpy(s->cid, cid, cid_len);
	s->cid_len = cid_len;
	s->state = EMU_SESS_OPEN;
	s->cookie_verified = 1;
	emu_sessions_add(&srv->sessions, s);
	emu_sessions_index_cid(&srv->sessions, s);
	emu_peer_ip_add(srv, peer);
	emu_idle_touch(s); /* a restart is no datagram, but the clock starts */
	emu_msg_open(s);
	return s;
}

/* A stable short reason for a failed handshake, from Mbed TLS's error. */
static const char *failure_reason(int err)
{
	switch (err) {
	case MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY:
		return "unknown_psk_identity";
	case MBEDTLS_ERR_SSL_INVALID_MAC:
		return "bad_record_mac";
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		return "alert_received";
	case MBEDTLS_ERR_SSL_TIMEOUT:
		return "timeout";
	case MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE:
		return "handshake_failure";
	case MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION:
		return "protocol_version";
	case MBEDTLS_ERR_SSL_DECODE_ERROR:
		return "decode_error";
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
		return "certificate_verify_failed";
	case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
		return "no_client_certificate";
	case MBEDTLS_ERR_SSL_BAD_CERTIFICATE:
		return "bad_certificate";
	case MBEDTLS_ERR_SSL_UNRECOGNIZED_NAME:
		return "unrecognized_name";
	case MBEDTLS_ERR_ECP_VERIFY_FAILED:
	case MBEDTLS_ERR_RSA_VERIFY_FAILED:
	case MBEDTLS_ERR_PK_SIG_LEN_MISMATCH:
		return "client_signature_invalid";
	default:
		return "error";
	}
}

/* The alert a server owes the client for a failed client authentication
 * (RFC 5246 §7.2.2, §7.4.6), or 0. */
static int failure_alert(int err)
{
	switch (err) {
	case MBEDTLS_ERR_ECP_VERIFY_FAILED:
	case MBEDTLS_ERR_RSA_VERIFY_FAILED:
	case MBEDTLS_ERR_PK_SIG_LEN_MISMATCH:
		return MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR;
	case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
		return MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE;
	default:
		return 0;
	}
}

/* Mbed TLS 3.6 returns from a CertificateVerify that does not verify, or a
 * missing required client certificate, without sending any alert, so the
 * client would only learn of it at its handshake timeout. Send the fatal
 * alert a server owes it (decrypt_error, handshake_failure) before the
 * session is closed; bio_send/tls_send record it in alert_sent. */
void emu_dtls_send_failure_alert(struct emu_session *s, int err)
{
	int desc = failure_alert(err);
	if (desc == 0 || s->alert_sent[0] != 0)
		return;
	int ret = mbedtls_ssl_send_alert_message(&s->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
						 (unsigned char)desc);
	if (ret != 0)
		fprintf(stderr, "lwm2m-emulator: session %llu: cannot send alert %d (%d)\n",
			(unsigned long long)s->id, desc, ret);
}

/* Reports a failed handshake with everything known about why. */
void emu_dtls_report_failed(struct emu_session *s, int err)
{
	char peer[LH_ADDR_STRLEN], text[128];
	mbedtls_strerror(err, text, sizeof(text));
	s->srv->stats.handshakes_failed++;
	lh_event_emitf("handshake_failed", "{s:I, s:s, s:s, s:i, s:s, s:o, s:o, s:s?}", "session",
		       (json_int_t)s->id, "peer",
		       lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer)), "reason",
		       failure_reason(err), "mbedtls_error", err, "mbedtls_error_text", text,
		       "alert_sent", emu_alert_json(s->alert_sent[0], s->alert_sent[1]),
		       "alert_received", emu_alert_json(s->alert_recv[0], s->alert_recv[1]),
		       "identity", s->identity[0] ? s->identity : NULL);
}

/* The client certificate's subject (kept in s->subject, "" if none) and
 * verification flags, as two more fields of handshake_done. */
static size_t peer_cert_fields(struct emu_session *s, struct lh_ev_field *f)
{
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&s->ssl);
	if (!peer)
		return 0;
	if (mbedtls_x509_dn_gets(s->subject, sizeof(s->subject), &peer->subject) < 0)
		s->subject[0] = '\0';
	f[0] = LH_EV_S("subject", s->subject);
	f[1] = LH_EV_I("verify_flags", mbedtls_ssl_get_verify_result(&s->ssl));
	return 2;
}

/* When the suite used a certificate, which one this server presented (the
 * vhost's): {"subject":..,"sha256":..,"self_signed":..,"generated":..}
 * into b, as the value of handshake_done's server_certificate. */
static const char *presented_json(const struct emu_session *s, struct lh_buf *b)
{
	const char *suite = mbedtls_ssl_get_ciphersuite(&s->ssl);
	const struct emu_x509 *x = s->vhost ? &s->vhost->x509 : emu_gen_x509(s);
	if (!suite || strstr(suite, "-PSK-"))
		return NULL;
	lh_buf_cstr(b, "{\"subject\":");
	lh_buf_json_str(b, x->subject);
	lh_buf_cstr(b, ",\"sha256\":");
	lh_buf_json_str(b, x->fingerprint);
	lh_buf_cstr(b, x->self_signed ? ",\"self_signed\":true" : ",\"self_signed\":false");
	lh_buf_cstr(b, x->generated ? ",\"generated\":true}" : ",\"generated\":false}");
	lh_buf_char(b, '\0');
	return b->full ? NULL : b->p;
}

int emu_dtls_established(struct emu_session *s)
{
	uint64_t id = s->id;
	emu_limit_give(s->srv, EMU_LIMIT_HANDSHAKES, 1);
	emu_dtls_report_done(s);
	emu_msg_open(s);
	emu_device_session_ready(s);
	/* Opening the CoAP layer may end a TLS session (its CSM could not go
	 * out): the caller must not touch s then. */
	return emu_sessions_by_id(&s->srv->sessions, id) == s ? 0 : -1;
}

/* Mbed TLS hands over the master secret once per handshake, resumed ones
 * included: a digest of it names the session's lineage, and the key log
 * (when on) gets it. */
static void export_keys(void *p, mbedtls_ssl_key_export_type type, const unsigned char *secret,
			size_t secret_len, const unsigned char client_random[32],
			const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
	struct emu_session *s = p;
	uint8_t digest[32];
	(void)server_random;
	(void)prf;
	if (type != MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET)
		return;
	if (mbedtls_sha256(secret, secret_len, digest, 0) == 0) {
		memcpy(s->lineage, digest, sizeof(s->lineage));
		s->has_lineage = 1;
	}
	emu_keylog_write(client_random, secret, secret_len);
}

void emu_dtls_keys_attach(struct emu_session *s)
{
	mbedtls_ssl_set_export_keys_cb(&s->ssl, export_keys, s);
}

/* Reports the established session: suite, CIDs, identity or subject. */
void emu_dtls_report_done(struct emu_session *s)
{
	char peer[LH_ADDR_STRLEN], own[2 * EMU_CID_MAX + 1] = "", theirs[2 * EMU_CID_MAX + 1] = "";
	unsigned char peer_cid[MBEDTLS_SSL_CID_OUT_LEN_MAX];
	size_t peer_cid_len = 0;
	int enabled = MBEDTLS_SSL_CID_DISABLED;
	if (mbedtls_ssl_get_peer_cid(&s->ssl, &enabled, peer_cid, &peer_cid_len) != 0)
		enabled = MBEDTLS_SSL_CID_DISABLED;
	int cid = enabled == MBEDTLS_SSL_CID_ENABLED;
	if (cid) {
		lh_hex_encode(s->cid, s->cid_len, own);
		lh_hex_encode(peer_cid, peer_cid_len, theirs);
	}
	s->srv->stats.handshakes_done++;
	/* The event is the costliest of a handshake's: built only when read. */
	if (lh_event_wanted()) {
		char cert_mem[1024];
		struct lh_buf cert;
		struct lh_ev_field f[17] = {
		    LH_EV_I("session", s->id),
		    LH_EV_S("peer",
			    lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer))),
		    LH_EV_S("cipher", mbedtls_ssl_get_ciphersuite(&s->ssl)),
		    LH_EV_S("version", mbedtls_ssl_get_version(&s->ssl)),
		    LH_EV_S("sni", s->sni[0] ? s->sni : NULL),
		    LH_EV_S("vhost", s->vhost ? s->vhost->name : "default"),
		    LH_EV_B("resumed", s->resumed),
		    LH_EV_S("resumed_by", s->resumed ? s->resumed_by : NULL),
		    LH_EV_B("cookie_verified", s->cookie_verified),
		    LH_EV_B("cid_negotiated", cid),
		    LH_EV_S("own_cid", cid ? own : NULL),
		    LH_EV_S("peer_cid", cid ? theirs : NULL),
		    LH_EV_S("identity", s->identity[0] ? s->identity : NULL)};
		size_t n = 13 + peer_cert_fields(s, f + 13);
		lh_buf_init(&cert, cert_mem, sizeof(cert_mem));
		const char *presented = presented_json(s, &cert);
		if (presented)
			f[n++] = LH_EV_J("server_certificate", presented);
		lh_event_emit_fields("handshake_done", f, n);
	}
	/* Without a negotiated CID the session must never be found by one. */
	if (!cid && s->cid_indexed) {
		HASH_DELETE(hh_cid, s->srv->sessions.by_cid, s);
		s->cid_indexed = 0;
	}
}

/* Reads every record Mbed TLS holds and hands the plaintext to the
 * session's CoAP layer. Returns 0, or -1 when the session was closed (and
 * freed). */
static int app_read(struct emu_session *s)
{
	uint8_t buf[EMU_DGRAM_MAX];
	char reason[64];
	for (;;) {
		int ret = emu_reneg_read(s, buf, sizeof(buf));
		if (ret > 0) {
			if (s->pending_order > s->last_order)
				s->last_order = s->pending_order;
			if (emu_msg_input(s, buf, (size_t)ret) < 0)
				return -1;
			continue;
		}
		if (ret == 0 || ret == MBEDTLS_ERR_SSL_WANT_READ ||
		    ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			return 0;
		if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
			snprintf(reason, sizeof(reason), "close_notify");
		else if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
			snprintf(reason, sizeof(reason), "fatal_alert_received");
		else
			snprintf(reason, sizeof(reason), "mbedtls_error %d", ret);
		emu_session_close(s, reason);
		return -1;
	}
}

/* Drives the handshake one step with whatever input is pending. Returns 0,
 * or -1 when the session was closed (and freed). */
static int handshake_step(struct emu_session *s)
{
	s->srv->current = s;
	int ret = mbedtls_ssl_handshake(&s->ssl);
	s->srv->current = NULL;
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return 0;
	if (ret != 0) {
		emu_dtls_send_failure_alert(s, ret);
		emu_dtls_report_failed(s, ret);
		emu_session_close(s, "handshake_failed");
		return -1;
	}
	s->state = EMU_SESS_OPEN;
	if (emu_dtls_established(s) < 0)
		return -1;
	return app_read(s);
}

/* handshake_started, built only when someone reads events. */
static void report_started(struct emu_session *s, int verified)
{
	char addr[LH_ADDR_STRLEN];
	if (!lh_event_wanted())
		return;
	struct lh_ev_field f[] = {
	    LH_EV_I("session", s->id),
	    LH_EV_S("peer", lh_addr_format((struct sockaddr *)&s->peer, addr, sizeof(addr))),
	    LH_EV_B("cookie_verified", verified)};
	lh_event_emit_fields("handshake_started", f, 3);
}

void emu_dtls_new_peer(struct emu_server *srv, const uint8_t *buf, size_t len,
		       const struct sockaddr *peer, socklen_t peer_len)
{
	struct emu_record rec;
	struct emu_client_hello ch;
	uint8_t key[EMU_ADDR_KEY_MAX];
	if (emu_record_parse(buf, len, 0, &rec) < 0) {
		emu_demux_drop(srv, peer, "not_dtls", len);
		return;
	}
	if (emu_record_client_hello(&rec, &ch) < 0) {
		if (rec.type == EMU_CT_TLS12_CID)
			emu_demux_drop(srv, peer, "unknown_cid", len);
		else
			emu_peer_ip_drop_unknown(srv, peer, len);
		return;
	}
	if (ch.fragmented) {
		emu_demux_drop(srv, peer, "fragmented_client_hello", len);
		return;
	}
	size_t klen = emu_addr_key(peer, key);
	int verified = 0;
	if (emu_gen_cfg(srv)->cookies) {
		if (ch.cookie_len == 0 || mbedtls_ssl_cookie_check(&srv->cookie, ch.cookie,
								   ch.cookie_len, key, klen) != 0) {
			send_hvr(srv, &rec, ch.msg_seq, peer, peer_len, key, klen,
				 ch.cookie_len != 0);
			return;
		}
		verified = 1;
	}
	struct emu_session *old = emu_sessions_by_addr(&srv->sessions, peer);
	/* The very ClientHello that set the session up (a late retransmission
	 * or a duplicate from the network) is no client restart: a restarted
	 * client has a new random. Closing here would strand a good session. */
	if (old && memcmp(old->hello_random, ch.random, sizeof(old->hello_random)) == 0) {
		emu_demux_drop(srv, peer, "duplicate_client_hello", len);
		return;
	}
	if (old)
		emu_session_close(old, "client_reconnect");
	struct emu_vhost *vhost = ch.sni ? emu_vhost_find(srv, ch.sni, ch.sni_len) : NULL;
	const char *why = "handshake_limit";
	struct emu_session *s = NULL;
	if (emu_limit_take(srv, EMU_LIMIT_HANDSHAKES, 1, "a DTLS ClientHello") == 0 &&
	    !(s = session_new(srv, vhost, peer, peer_len, verified, &why)))
		emu_limit_give(srv, EMU_LIMIT_HANDSHAKES, 1);
	if (!s) {
		emu_demux_drop(srv, peer, why, len);
		return;
	}
	memcpy(s->hello_random, ch.random, sizeof(s->hello_random));
	report_started(s, verified);
	emu_dtls_input(s, buf, len);
}

/* Why a record failed mbedtls_ssl_check_record, for record_dropped. */
static const char *check_reason(int err)
{
	switch (err) {
	case MBEDTLS_ERR_SSL_INVALID_MAC:
		return "bad_record_mac";
	case MBEDTLS_ERR_SSL_UNEXPECTED_RECORD:
		return "unexpected_record";
	default:
		return "invalid_record";
	}
}

/* Copies into out only the records of a datagram that authenticate for this
 * open session (checked on a copy, the session untouched) and drops the rest
 * with a reason. Anyone can spoof the session's address, and Mbed TLS treats
 * some malformed plaintext records as fatal (the 15-byte record fuzz_session
 * found), so nothing unauthenticated may reach mbedtls_ssl_read: a DTLS
 * server discards such records (RFC 6347 §4.1.2.7). Returns out's length. */
static size_t authentic_records(struct emu_session *s, const uint8_t *buf, size_t len, uint8_t *out)
{
	struct emu_record rec;
	size_t n = 0;
	while (len > 0) {
		if (emu_record_parse(buf, len, s->cid_len, &rec) < 0) {
			emu_demux_drop(s->srv, (struct sockaddr *)&s->peer, "invalid_record", len);
			break;
		}
		memcpy(out + n, buf, rec.total_len);
		int ret = mbedtls_ssl_check_record(&s->ssl, out + n, rec.total_len);
		if (ret == 0) {
			/* check_record decrypted (then wiped) the copy: recopy. */
			memcpy(out + n, buf, rec.total_len);
			n += rec.total_len;
		} else {
			s->bad_macs += ret == MBEDTLS_ERR_SSL_INVALID_MAC;
			emu_demux_drop(s->srv, (struct sockaddr *)&s->peer, check_reason(ret),
				       rec.total_len);
		}
		buf += rec.total_len;
		len -= rec.total_len;
	}
	return n;
}

void emu_dtls_input(struct emu_session *s, const uint8_t *buf, size_t len)
{
	static uint8_t checked[EMU_DGRAM_MAX];
	struct emu_record rec;
	if (s->state == EMU_SESS_OPEN) {
		if (len > sizeof(checked)) {
			emu_demux_drop(s->srv, (struct sockaddr *)&s->peer, "oversized_datagram",
				       len);
			return;
		}
		len = authentic_records(s, buf, len, checked);
		buf = checked;
		/* The opt-in limit of RFC 6347 §4.1.2.7 (spoofable, so off by default). */
		uint32_t limit = emu_gen_cfg(s->srv)->badmac_limit;
		if (limit && s->bad_macs >= limit) {
			emu_session_close(s, "bad_mac_limit");
			return;
		}
		if (len == 0)
			return;
	}
	s->bytes_in += len;
	/* What was held goes first, before Mbed TLS answers this datagram. */
	emu_amp_release(s, wire_send);
	if (s->state == EMU_SESS_HANDSHAKE)
		note_alert(buf, len, s->alert_recv);
	s->pending_order = 0;
	if (emu_record_parse(buf, len, s->cid_len, &rec) == 0)
		s->pending_order = emu_record_order(&rec);
	s->in_buf = buf;
	s->in_len = len;
	/* An open session's answers to this datagram may share one datagram. */
	s->packing = s->state == EMU_SESS_OPEN && emu_gen_cfg(s->srv)->pack_records;
	int closed = s->state == EMU_SESS_HANDSHAKE ? handshake_step(s) : app_read(s);
	if (!closed && s->state == EMU_SESS_OPEN)
		emu_idle_touch(s);
	if (!closed) {
		s->packing = 0;
		pack_flush(s);
		/* Never leave a pointer to the caller's buffer behind. */
		s->in_buf = NULL;
		s->in_len = 0;
	}
}

/* The session's timer: Mbed TLS's handshake retransmission. */
static void dtls_timer(struct emu_session *s)
{
	if (s->state == EMU_SESS_HANDSHAKE)
		handshake_step(s);
	else
		emu_idle_timer(s);
}

/* RFC 9146 §6: a record from a new address moves the session only when it
 * authenticates (checked on a copy, without touching the session) and is
 * newer than the newest record accepted so far. */
void emu_dtls_input_moved(struct emu_session *s, const uint8_t *buf, size_t len,
			  const struct sockaddr *from, socklen_t from_len)
{
	struct emu_server *srv = s->srv;
	struct emu_record rec;
	uint8_t copy[EMU_DGRAM_MAX];
	char old_peer[LH_ADDR_STRLEN], new_peer[LH_ADDR_STRLEN];
	if (s->state != EMU_SESS_OPEN || emu_record_parse(buf, len, s->cid_len, &rec) < 0 ||
	    rec.total_len > sizeof(copy)) {
		emu_demux_drop(srv, from, "address_change_before_handshake_done", len);
		return;
	}
	memcpy(copy, buf, rec.total_len);
	if (mbedtls_ssl_check_record(&s->ssl, copy, rec.total_len) != 0) {
		emu_demux_drop(srv, from, "address_change_unauthenticated", len);
		return;
	}
	if (emu_record_order(&rec) <= s->last_order) {
		emu_demux_drop(srv, from, "address_change_not_newer", len);
		return;
	}
	lh_addr_format((struct sockaddr *)&s->peer, old_peer, sizeof(old_peer));
	emu_peer_ip_remove(srv, (struct sockaddr *)&s->peer);
	emu_sessions_move(&srv->sessions, s, from, from_len);
	emu_peer_ip_add(srv, from);
	srv->stats.peer_address_changes++;
	lh_event_emitf("peer_address_changed", "{s:I, s:s, s:s, s:s}", "session", (json_int_t)s->id,
		       "old_peer", old_peer, "new_peer",
		       lh_addr_format(from, new_peer, sizeof(new_peer)), "peer", new_peer);
	emu_dtls_input(s, buf, len);
}

void emu_dtls_send_app(struct emu_session *s, const uint8_t *buf, size_t len)
{
	int ret = mbedtls_ssl_write(&s->ssl, buf, len);
	if (ret < 0 && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
		char text[128];
		mbedtls_strerror(ret, text, sizeof(text));
		fprintf(stderr, "lwm2m-emulator: session %llu: write failed: %s\n",
			(unsigned long long)s->id, text);
	}
}

/* What a DTLS session holds besides its context: its place in the per-IP
 * count and any datagrams the amplification limit holds back. */
static void dtls_teardown(struct emu_session *s)
{
	/* Closed while reading a datagram: what it answered still goes out. */
	s->packing = 0;
	pack_flush(s);
	free(s->pack_buf);
	s->pack_buf = NULL;
	emu_peer_ip_remove(s->srv, (struct sockaddr *)&s->peer);
	emu_amp_free(s);
}

const struct emu_transport emu_transport_dtls = {
    .name = "dtls",
    .proto = COAP_PROTO_UDP,
    .secure = 1,
    .send = emu_dtls_send_app,
    .timer = dtls_timer,
    .teardown = dtls_teardown,
};

void emu_dtls_attach(struct emu_session *s)
{
	mbedtls_ssl_set_user_data_p(&s->ssl, s);
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	mbedtls_ssl_set_timer_cb(&s->ssl, s, timer_set, timer_get);
	mbedtls_ssl_set_mtu(&s->ssl, (uint16_t)emu_gen_cfg(s->srv)->mtu);
	emu_dtls_keys_attach(s);
}
