/* fl_dtls: the fleet's DTLS transport (see fl_fleet.h, struct
 * fl_transport): handshake (full, then for the --resume share an
 * abbreviated one on the same address), one CoAP message per record, and
 * hibernation: an idle device's context is serialized and freed, and
 * restored for its next turn or for a record the server sends it. */
#include "fl_fleet.h"

#include <errno.h>
#include <mbedtls/net_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define REC_HANDSHAKE 22
#define HS_CLIENT_KEY_EXCHANGE 16

/* A full handshake sends a ClientKeyExchange in epoch 0, an abbreviated one
 * never does: that tells a resumption the server accepted from one it
 * answered with a full handshake, whatever the session ID or ticket did. */
static int has_cke(const unsigned char *buf, size_t len)
{
	size_t off = 0;
	while (off + 13 <= len) {
		size_t rlen = (size_t)buf[off + 11] << 8 | buf[off + 12];
		int epoch0 = buf[off + 3] == 0 && buf[off + 4] == 0;
		if (buf[off] == REC_HANDSHAKE && epoch0 && rlen >= 1 && off + 13 < len &&
		    buf[off + 13] == HS_CLIENT_KEY_EXCHANGE)
			return 1;
		off += 13 + rlen;
	}
	return 0;
}

/* BIO: the device's own connected socket, or (CID, after the handshake) a
 * pool socket. A datagram the kernel cannot take now is dropped like on a
 * network; DTLS retransmission or the request timeout covers it. */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct fl_live *l = ctx;
	struct fl_fleet *f = l->f;
	struct fl_dev *d = l->d;
	ssize_t n;
	if (d->state == FL_HANDSHAKE && has_cke(buf, len))
		l->sent_cke = 1;
	if (d->fd >= 0)
		n = send(d->fd, buf, len, 0);
	else
		n = sendto(f->pool_fd[d->pool], buf, len, 0,
			   (const struct sockaddr *)&f->o.server.ss, f->o.server.len);
	if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return (int)len;
	l->last_errno = errno;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

/* BIO: the own socket, or the one datagram the pool delivered for us. */
static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct fl_live *l = ctx;
	struct fl_fleet *f = l->f;
	ssize_t n;
	if (l->d->fd < 0) {
		if (!f->rx_buf)
			return MBEDTLS_ERR_SSL_WANT_READ;
		n = (ssize_t)(f->rx_len < len ? f->rx_len : len);
		memcpy(buf, f->rx_buf, (size_t)n);
		f->rx_buf = NULL;
		return (int)n;
	}
	n = recv(l->d->fd, buf, len, 0);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	l->last_errno = errno;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* The live half of a device: what a hibernated one does without. */
static struct fl_live *live_new(struct fl_fleet *f, struct fl_dev *d)
{
	struct fl_live *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->f = f;
	l->d = d;
	l->conf_slot = -1;
	mbedtls_ssl_init(&l->ssl);
	d->live = l;
	return l;
}

static void release_conf(struct fl_fleet *f, struct fl_live *l);

/* Frees the context, the session kept for a resumption and gives the
 * borrowed config back. */
static void live_free(struct fl_dev *d)
{
	struct fl_live *l = d->live;
	if (!l)
		return;
	mbedtls_ssl_free(&l->ssl);
	release_conf(l->f, l);
	if (l->resume) {
		mbedtls_ssl_session_free(l->resume);
		free(l->resume);
	}
	free(l);
	d->live = NULL;
}

/* Transport: the context and a hibernated blob (the socket is fl_net's). */
static void dtls_drop(struct fl_dev *d)
{
	live_free(d);
	free(d->blob);
	d->blob = NULL;
	d->blob_len = 0;
}

/* Mbed TLS's verdict sorted into the classes the report counts. */
static void count_tls_error(struct fl_fleet *f, struct fl_dev *d, int ret, const char *what)
{
	struct fl_errors *e = &f->c.err;
	char text[160];
	int refused = d->live && d->live->last_errno == ECONNREFUSED;
	if (ret == MBEDTLS_ERR_SSL_TIMEOUT)
		e->hs_timeout++;
	else if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE ||
		 ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		e->alerts++;
	else if (refused)
		e->refused++;
	else if (d->state == FL_HANDSHAKE)
		e->hs_failed++;
	else
		e->other++;
	fl_error(f, d, "%s: %s%s", what, bl_tls_strerror(ret, text, sizeof(text)),
		 refused ? " (port unreachable: is the server running?)" : "");
}

/* The config for d's handshake: with --psk-identities, a borrowed one that
 * carries d's own identity ("ID-(idx % K)"); else the shared one. A config
 * is free again when the handshake is over: Mbed TLS reads the identity and
 * the key only while handshaking. */
static const mbedtls_ssl_config *handshake_conf(struct fl_fleet *f, struct fl_dev *d)
{
	struct fl_live *l = d->live;
	char id[160];
	if (!f->confs)
		return &f->tls.conf;
	if (l->conf_slot < 0) {
		if (!f->n_free_confs)
			return NULL; /* more handshakes than max_hs: a bug, reported */
		l->conf_slot = (int)f->free_confs[--f->n_free_confs];
	}
	snprintf(id, sizeof(id), "%s-%u", f->psk_identity, d->idx % f->o.identities);
	/* Mbed TLS 3.6 refuses a second PSK on a config: build it anew in place
	 * (the same settings, so a session that still points at it from its
	 * finished handshake sees no difference). */
	mbedtls_ssl_config_free(&f->confs[l->conf_slot]);
	if (bl_tls_client_conf_psk(&f->tls, &f->confs[l->conf_slot], id) != 0)
		return NULL;
	return &f->confs[l->conf_slot];
}

/* Gives the borrowed config back (see handshake_conf). */
static void release_conf(struct fl_fleet *f, struct fl_live *l)
{
	if (l->conf_slot < 0)
		return;
	f->free_confs[f->n_free_confs++] = (uint32_t)l->conf_slot;
	l->conf_slot = -1;
}

/* A fresh context for a (re)connection: with CID, our own CID is the
 * device's index + 1 so that a pool socket can tell whose record it got. */
static int setup_ssl(struct fl_fleet *f, struct fl_dev *d)
{
	unsigned char cid[FL_CID_LEN];
	uint32_t v = d->idx + 1;
	struct fl_live *l = d->live;
	int ret;
	for (int i = FL_CID_LEN - 1; i >= 0; i--, v >>= 8)
		cid[i] = (unsigned char)v;
	const mbedtls_ssl_config *conf = handshake_conf(f, d);
	if (!conf)
		return MBEDTLS_ERR_SSL_BAD_CONFIG;
	ret = bl_tls_client_setup_cid(&f->tls, conf, &l->ssl, &l->timer, f->o.cid ? cid : NULL);
	mbedtls_ssl_set_bio(&l->ssl, l, bio_send, bio_recv, NULL);
	l->sent_cke = 0;
	return ret;
}

static void step_handshake(struct fl_fleet *f, struct fl_dev *d);

/* Transport: a context and the ClientHello. */
static int dtls_connect(struct fl_fleet *f, struct fl_dev *d)
{
	char text[160];
	int ret;
	if (!live_new(f, d)) {
		fl_error(f, d, "out of memory for a DTLS context");
		return -1;
	}
	ret = setup_ssl(f, d);
	if (ret != 0) {
		fl_error(f, d, "ssl setup: %s", bl_tls_strerror(ret, text, sizeof(text)));
		return -1;
	}
	d->op_start_us = bl_mono_us();
	fl_dev_set_state(f, d, FL_HANDSHAKE);
	step_handshake(f, d);
	return 0;
}

/* The --resume share: keep the session just made, drop the context without a
 * close_notify (a device that rebooted) and resume from the same address. */
static void restart_resumed(struct fl_fleet *f, struct fl_dev *d)
{
	struct fl_live *l = d->live;
	mbedtls_ssl_session *s = calloc(1, sizeof(*s));
	int ret = -1;
	if (s) {
		mbedtls_ssl_session_init(s);
		ret = mbedtls_ssl_get_session(&l->ssl, s);
	}
	mbedtls_ssl_free(&l->ssl);
	mbedtls_ssl_init(&l->ssl);
	l->resume = s;
	if (ret == 0)
		ret = setup_ssl(f, d);
	if (ret == 0)
		ret = mbedtls_ssl_set_session(&l->ssl, s);
	d->flags = (uint8_t)((d->flags & ~FL_F_RESUME) | FL_F_RESUMING);
	if (ret != 0) {
		count_tls_error(f, d, ret, "resumption setup");
		fl_dev_fail(f, d);
		return;
	}
	d->op_start_us = bl_mono_us();
	step_handshake(f, d);
}

/* Whether the server agreed to use our CID (RFC 9146 §3: it may ignore the
 * extension). Without it the server knows the session by address only, so
 * the device must keep its own socket: counted, the run goes on. */
static int cid_agreed(struct fl_fleet *f, struct fl_dev *d)
{
	int enabled = MBEDTLS_SSL_CID_DISABLED;
	if (mbedtls_ssl_get_peer_cid(&d->live->ssl, &enabled, NULL, NULL) == 0 &&
	    enabled == MBEDTLS_SSL_CID_ENABLED)
		return 1;
	if (f->c.cid_refused++ == 0)
		fl_error(f, d,
			 "the server did not agree to a Connection ID: devices without one "
			 "keep their own socket");
	return 0;
}

/* Counts the handshake, then resumes (the share), or Registers. */
static void handshake_done(struct fl_fleet *f, struct fl_dev *d)
{
	struct fl_live *l = d->live;
	uint64_t us = (uint64_t)(bl_mono_us() - d->op_start_us);
	if (d->flags & FL_F_RESUMING) {
		d->flags &= (uint8_t)~FL_F_RESUMING;
		if (l->sent_cke) {
			f->c.resume_refused++; /* the server made it a full one */
			f->c.hs_full++;
			bl_stats_add(&f->lat[FL_OP_HANDSHAKE], us);
		} else {
			f->c.hs_resumed++;
			bl_stats_add(&f->lat[FL_OP_RESUME], us);
		}
	} else {
		f->c.hs_full++;
		bl_stats_add(&f->lat[FL_OP_HANDSHAKE], us);
		if (d->flags & FL_F_RESUME) {
			restart_resumed(f, d);
			return;
		}
	}
	release_conf(f, l); /* the identity was read: another handshake may take it */
	if (f->o.cid && cid_agreed(f, d)) { /* from now on the pool: the server follows by CID */
		fl_net_close_own(f, d);
		d->pool = (uint16_t)(f->pool_next++ % f->o.pool_n);
	}
	fl_dev_connected(f, d);
}

/* Drives the handshake as far as the datagrams received allow. */
static void step_handshake(struct fl_fleet *f, struct fl_dev *d)
{
	int ret = mbedtls_ssl_handshake(&d->live->ssl);
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return;
	if (ret == 0) {
		handshake_done(f, d);
		return;
	}
	count_tls_error(f, d, ret, "handshake");
	fl_dev_fail(f, d);
}

/* Transport: one CoAP message in one record. */
static int dtls_write(struct fl_fleet *f, struct fl_dev *d, const uint8_t *buf, size_t len,
		      const char *what)
{
	int ret = mbedtls_ssl_write(&d->live->ssl, buf, len);
	if (ret > 0)
		return 1;
	if (ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return 0;
	count_tls_error(f, d, ret, what);
	return -1;
}

/* Reads every record waiting; stops when the device failed meanwhile. */
static void step_read(struct fl_fleet *f, struct fl_dev *d)
{
	uint8_t buf[2048];
	for (;;) {
		int ret = mbedtls_ssl_read(&d->live->ssl, buf, sizeof(buf));
		if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			return;
		if (ret <= 0) {
			count_tls_error(f, d, ret, "read");
			fl_dev_fail(f, d);
			return;
		}
		fl_dev_coap(f, d, buf, (size_t)ret);
		if (!d->live)
			return;
	}
}

/* Serializes the idle device's context (a few hundred bytes) and frees the
 * ~38 KB live one; on failure the device simply stays awake. */
static void dtls_sleep(struct fl_fleet *f, struct fl_dev *d)
{
	size_t len = 0;
	uint8_t *blob;
	char text[160];
	int ret;
	if (!d->live)
		return;
	ret = mbedtls_ssl_context_save(&d->live->ssl, NULL, 0, &len);
	if (ret != MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL || len > UINT16_MAX || !(blob = malloc(len))) {
		fl_error(f, d, "hibernate: %s", bl_tls_strerror(ret, text, sizeof(text)));
		return;
	}
	ret = mbedtls_ssl_context_save(&d->live->ssl, blob, len, &len);
	if (ret != 0) {
		free(blob);
		fl_error(f, d, "hibernate: %s", bl_tls_strerror(ret, text, sizeof(text)));
		f->c.err.other++;
		fl_dev_fail(f, d); /* save resets the context: it cannot go on */
		return;
	}
	live_free(d);
	d->blob = blob;
	d->blob_len = (uint16_t)len;
	f->c.hibernations++;
}

/* Restores a hibernated device's context, ready to send and receive. */
static int restore(struct fl_fleet *f, struct fl_dev *d)
{
	struct fl_live *l = live_new(f, d);
	char text[160];
	int ret = l ? mbedtls_ssl_setup(&l->ssl, &f->tls.conf) : MBEDTLS_ERR_SSL_ALLOC_FAILED;
	if (ret == 0) {
		mbedtls_ssl_set_timer_cb(&l->ssl, &l->timer, bl_timer_set, bl_timer_get);
		mbedtls_ssl_set_bio(&l->ssl, l, bio_send, bio_recv, NULL);
		ret = mbedtls_ssl_context_load(&l->ssl, d->blob, d->blob_len);
	}
	free(d->blob);
	d->blob = NULL;
	d->blob_len = 0;
	if (ret != 0) {
		fl_error(f, d, "restore: %s", bl_tls_strerror(ret, text, sizeof(text)));
		f->c.err.other++;
		fl_dev_fail(f, d);
		return -1;
	}
	f->c.restores++;
	return 0;
}

/* Transport: before a turn, awake, on the next pool socket (any will do:
 * the server follows the CID). */
static int dtls_wake(struct fl_fleet *f, struct fl_dev *d)
{
	if (!d->live && restore(f, d) < 0)
		return -1;
	if (f->o.cid)
		d->pool = (uint16_t)(f->pool_next++ % f->o.pool_n);
	return 0;
}

/* Transport: a record for the device, asleep or awake. */
static void dtls_readable(struct fl_fleet *f, struct fl_dev *d)
{
	if (!d->live) {
		if (d->state != FL_IDLE || !d->blob || restore(f, d) < 0) {
			f->c.unmatched++;
			return;
		}
	}
	if (d->state == FL_HANDSHAKE)
		step_handshake(f, d);
	else
		step_read(f, d);
}

/* Transport: Mbed TLS retransmits the flight or gives up. */
static void dtls_tick(struct fl_fleet *f, struct fl_dev *d)
{
	if (bl_timer_get(&d->live->timer) > 0)
		step_handshake(f, d);
}

const struct fl_transport fl_dtls_transport = {
    .connect = dtls_connect,
    .write = dtls_write,
    .readable = dtls_readable,
    .sleep = dtls_sleep,
    .wake = dtls_wake,
    .tick = dtls_tick,
    .drop = dtls_drop,
};
