/* fl_dev: one virtual LwM2M device of the fleet (see fl_fleet.h): handshake
 * (full, then for the --resume share an abbreviated one on the same
 * address), Register, then hibernation: the DTLS context is serialized and
 * freed, and restored for the device's next turn (Update, re-Register,
 * reconnect) or for a record the server sends it (Read, Observe). */
#include "fl_fleet.h"

#include <errno.h>
#include <mbedtls/net_sockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FL_MAX_ERRORS_PRINTED 5
#define FL_ACK_TIMEOUT_US 2000000 /* RFC 7252 ACK_TIMEOUT; doubled per retransmission */
#define FL_LINKS "</1/0>,</3/0>"
#define CODE_GET 0x01
#define CODE_CREATED 0x41
#define CODE_CHANGED 0x44
#define CODE_CONTENT 0x45
#define CODE_NOT_ALLOWED 0x85
#define REC_HANDSHAKE 22
#define HS_CLIENT_KEY_EXCHANGE 16

/* The first few errors say what went wrong; a million would drown it. */
void fl_error(struct fl_fleet *f, const struct fl_dev *d, const char *fmt, ...)
{
	va_list ap;
	if (f->errors_printed >= FL_MAX_ERRORS_PRINTED)
		return;
	fprintf(stderr, "lwm2m-load: device %u: ", d->idx);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (++f->errors_printed == FL_MAX_ERRORS_PRINTED)
		fprintf(stderr, "lwm2m-load: (further errors are only counted)\n");
}

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
		n = sendto(f->pool_fd[d->pool], buf, len, 0, (const struct sockaddr *)&f->o.server,
			   sizeof(f->o.server));
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

/* Leaves the current state, keeping the fleet's counts right. */
static void set_state(struct fl_fleet *f, struct fl_dev *d, enum fl_state s)
{
	int was_reg = d->state == FL_IDLE || d->state == FL_UPDATE;
	int is_reg = s == FL_IDLE || s == FL_UPDATE;
	if (d->state == FL_HANDSHAKE && s != FL_HANDSHAKE)
		f->in_hs--;
	if (s == FL_HANDSHAKE && d->state != FL_HANDSHAKE)
		f->in_hs++;
	if (was_reg != is_reg)
		is_reg ? f->c.registered++ : f->c.registered--;
	if (s == FL_FAILED && d->state != FL_FAILED)
		f->c.failed++;
	d->state = (uint8_t)s;
	if (s == FL_HANDSHAKE || s == FL_REGISTER || s == FL_UPDATE)
		fl_active_add(f, d);
	else
		fl_active_del(f, d);
}

/* See fl_fleet.h: frees whatever the device holds, without a word to the
 * server (over UDP it cannot tell). */
void fl_dev_drop(struct fl_fleet *f, struct fl_dev *d)
{
	fl_net_close_own(f, d);
	live_free(d);
	free(d->blob);
	d->blob = NULL;
	d->blob_len = 0;
}

/* A device that gave up: counted by the caller, holds nothing any more. */
static void fail(struct fl_fleet *f, struct fl_dev *d)
{
	set_state(f, d, FL_FAILED);
	fl_dev_drop(f, d);
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

/* See fl_fleet.h: own socket, context, ClientHello. */
int fl_dev_start(struct fl_fleet *f, struct fl_dev *d)
{
	char text[160];
	int ret;
	f->c.started++;
	if (fl_net_own_socket(f, d) < 0) {
		fl_error(f, d, "socket: %s (raise 'ulimit -n' or lower --max-handshakes)",
			 strerror(errno));
		goto err;
	}
	if (!live_new(f, d)) {
		fl_error(f, d, "out of memory for a DTLS context");
		goto err;
	}
	ret = setup_ssl(f, d);
	if (ret != 0) {
		fl_error(f, d, "ssl setup: %s", bl_tls_strerror(ret, text, sizeof(text)));
		goto err;
	}
	d->op_start_us = bl_mono_us();
	set_state(f, d, FL_HANDSHAKE);
	step_handshake(f, d);
	return 0;
err:
	f->c.err.other++;
	fail(f, d);
	return -1;
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
		fail(f, d);
		return;
	}
	d->op_start_us = bl_mono_us();
	step_handshake(f, d);
}

static void send_request(struct fl_fleet *f, struct fl_dev *d, int reg);

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
	if (f->o.cid) {	    /* from now on the pool: the server follows by CID */
		fl_net_close_own(f, d);
		d->pool = (uint16_t)(f->pool_next++ % f->o.pool_n);
	}
	send_request(f, d, 1);
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
	fail(f, d);
}

/* Encrypts and sends the request in flight: Register (reg) or Update, with
 * the device's current MID and token (a retransmission sends the same). */
static void transmit(struct fl_fleet *f, struct fl_dev *d, int reg)
{
	uint8_t pdu[256];
	char ep[96];
	size_t len;
	int ret;
	snprintf(ep, sizeof(ep), "%s%u", f->o.ep_prefix, d->idx);
	len =
	    reg ? bl_coap_register(pdu, sizeof(pdu), d->mid, d->token, ep, f->o.lifetime, FL_LINKS)
		: bl_coap_update(pdu, sizeof(pdu), d->mid, d->token, d->location);
	ret = len ? mbedtls_ssl_write(&d->live->ssl, pdu, len) : MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
	if (ret < 0 && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
		count_tls_error(f, d, ret, reg ? "Register" : "Update");
		fail(f, d);
	}
}

/* A new Register (reg) or Update: a fresh MID and token (the MID and the
 * device's index), the first retransmission after ACK_TIMEOUT. */
static void send_request(struct fl_fleet *f, struct fl_dev *d, int reg)
{
	d->mid++;
	memcpy(d->token, &d->mid, sizeof(d->mid));
	memcpy(d->token + 2, &d->idx, 2);
	d->op_start_us = bl_mono_us();
	d->wake_us = d->op_start_us + FL_ACK_TIMEOUT_US;
	d->tries = 0;
	set_state(f, d, reg && d->state != FL_IDLE ? FL_REGISTER : FL_UPDATE);
	transmit(f, d, reg);
}

/* A 4.xx/5.xx (or any unexpected code) to our request, by class. */
static void count_code(struct fl_fleet *f, struct fl_dev *d, uint8_t code, const char *what)
{
	char text[8];
	if (code >> 5 == 4)
		f->c.err.coap_4xx++;
	else if (code >> 5 == 5)
		f->c.err.coap_5xx++;
	else
		f->c.err.other++;
	fl_error(f, d, "%s answered %s", what, bl_coap_code_str(code, text));
}

/* The Register answer: the Location-Path the Updates go to. */
static int take_location(struct fl_fleet *f, struct fl_dev *d, const struct bl_coap_msg *m)
{
	size_t n = strlen(m->location);
	if (n == 0 || n >= sizeof(d->location)) {
		fl_error(f, d,
			 "Register answered with Location-Path '%s' (empty or over %zu bytes)",
			 m->location, sizeof(d->location) - 1);
		f->c.err.other++;
		return -1;
	}
	memcpy(d->location, m->location, n + 1);
	return 0;
}

/* The answer to our Register or Update: counted, then the device is idle. */
static void answered(struct fl_fleet *f, struct fl_dev *d, const struct bl_coap_msg *m)
{
	int reg = d->state == FL_REGISTER || (d->flags & FL_F_REREG);
	uint64_t us = (uint64_t)(bl_mono_us() - d->op_start_us);
	const char *what = reg ? "Register" : "Update";
	d->flags &= (uint8_t)~FL_F_REREG;
	if (m->code != (reg ? CODE_CREATED : CODE_CHANGED)) {
		count_code(f, d, m->code, what);
		d->state == FL_REGISTER ? fail(f, d) : set_state(f, d, FL_IDLE);
		return;
	}
	if (reg && take_location(f, d, m) < 0) {
		fail(f, d);
		return;
	}
	bl_stats_add(&f->lat[reg ? FL_OP_REGISTER : FL_OP_UPDATE], us);
	if (d->state == FL_REGISTER)
		f->c.reg_ok++;
	else
		reg ? f->c.rereg_ok++ : f->c.upd_ok++;
	set_state(f, d, FL_IDLE);
}

/* The device's one value per resource: its index and a counter, as text. */
static void value_of(const struct fl_dev *d, char *out, size_t size)
{
	snprintf(out, size, "fleet-%u-%u", d->idx, d->obs_seq);
}

/* A request from the server: GET answered 2.05 (Observe 0 registers the
 * one observation a device keeps, Observe 1 cancels it), others 4.05. */
static void serve(struct fl_fleet *f, struct fl_dev *d, const struct bl_coap_msg *m)
{
	uint8_t pdu[160];
	char text[48];
	struct bl_coap_reply r = {.type = BL_COAP_ACK,
				  .code = CODE_NOT_ALLOWED,
				  .mid = m->mid,
				  .token = m->token,
				  .token_len = m->token_len,
				  .observe = -1};
	if (m->type == BL_COAP_NON) {
		r.type = BL_COAP_NON;
		r.mid = ++d->mid;
	}
	if (m->code == CODE_GET) {
		r.code = CODE_CONTENT;
		if (m->observe == 0 && m->token_len <= sizeof(d->obs_token)) {
			memcpy(d->obs_token, m->token, m->token_len);
			d->obs_token_len = (uint8_t)m->token_len;
			snprintf(d->obs_path, sizeof(d->obs_path), "%.15s", m->uri);
			d->flags |= FL_F_OBSERVED;
			r.observe = (int32_t)++d->obs_seq;
			f->c.observes++;
		} else if (m->observe == 1) {
			d->flags &= (uint8_t)~FL_F_OBSERVED;
			f->c.cancels++;
		} else {
			f->c.reads++;
		}
		value_of(d, text, sizeof(text));
		r.text = text;
	}
	mbedtls_ssl_write(&d->live->ssl, pdu, bl_coap_reply(pdu, sizeof(pdu), &r));
}

/* One decrypted CoAP message: a request for us, the answer we wait for,
 * or noise (an empty ACK, a stale answer). */
static void on_coap(struct fl_fleet *f, struct fl_dev *d, const uint8_t *buf, size_t len)
{
	struct bl_coap_msg m;
	if (bl_coap_parse(buf, len, &m) < 0)
		return;
	if (m.code != 0 && m.code < 0x20) {
		serve(f, d, &m);
		return;
	}
	if (m.type == BL_COAP_CON) { /* a separate response: ACK it */
		uint8_t ack[8];
		mbedtls_ssl_write(&d->live->ssl, ack, bl_coap_empty_ack(ack, sizeof(ack), m.mid));
	}
	if (m.code == 0)
		return;
	if ((d->state != FL_REGISTER && d->state != FL_UPDATE) ||
	    m.token_len != BL_COAP_TOKEN_LEN || memcmp(m.token, d->token, BL_COAP_TOKEN_LEN)) {
		f->c.unmatched++;
		return;
	}
	answered(f, d, &m);
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
			fail(f, d);
			return;
		}
		on_coap(f, d, buf, (size_t)ret);
		if (!d->live)
			return;
	}
}

/* Serializes the idle device's context (a few hundred bytes) and frees the
 * ~38 KB live one; on failure the device simply stays awake. */
static void hibernate(struct fl_fleet *f, struct fl_dev *d)
{
	size_t len = 0;
	uint8_t *blob;
	char text[160];
	int ret = mbedtls_ssl_context_save(&d->live->ssl, NULL, 0, &len);
	if (ret != MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL || len > UINT16_MAX || !(blob = malloc(len))) {
		fl_error(f, d, "hibernate: %s", bl_tls_strerror(ret, text, sizeof(text)));
		return;
	}
	ret = mbedtls_ssl_context_save(&d->live->ssl, blob, len, &len);
	if (ret != 0) {
		free(blob);
		fl_error(f, d, "hibernate: %s", bl_tls_strerror(ret, text, sizeof(text)));
		f->c.err.other++;
		fail(f, d); /* save resets the context: it cannot go on */
		return;
	}
	live_free(d);
	d->blob = blob;
	d->blob_len = (uint16_t)len;
	f->c.hibernations++;
}

/* Restores a hibernated device's context, ready to send and receive. */
static int wake(struct fl_fleet *f, struct fl_dev *d)
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
		fail(f, d);
		return -1;
	}
	f->c.restores++;
	return 0;
}

/* See fl_fleet.h: a record for the device, asleep or awake. */
void fl_dev_readable(struct fl_fleet *f, struct fl_dev *d)
{
	if (!d->live) {
		if (d->state != FL_IDLE || !d->blob || wake(f, d) < 0) {
			f->c.unmatched++;
			return;
		}
	}
	if (d->state == FL_HANDSHAKE)
		step_handshake(f, d);
	else
		step_read(f, d);
	if (d->state == FL_IDLE && d->live)
		hibernate(f, d);
}

/* An observed device reports its value with each turn (NON, RFC 7641). */
static void notify(struct fl_fleet *f, struct fl_dev *d)
{
	uint8_t pdu[160];
	char text[48];
	struct bl_coap_reply r = {.type = BL_COAP_NON,
				  .code = CODE_CONTENT,
				  .token = d->obs_token,
				  .token_len = d->obs_token_len,
				  .text = text};
	if (!(d->flags & FL_F_OBSERVED))
		return;
	r.mid = ++d->mid;
	r.observe = (int32_t)++d->obs_seq;
	value_of(d, text, sizeof(text));
	if (mbedtls_ssl_write(&d->live->ssl, pdu, bl_coap_reply(pdu, sizeof(pdu), &r)) > 0)
		f->c.notifies++;
}

/* See fl_fleet.h. A reconnect waits for room among the handshakes in flight
 * (an Update is sent meanwhile). */
int fl_dev_act(struct fl_fleet *f, struct fl_dev *d, enum fl_action a)
{
	if (d->state != FL_IDLE)
		return -1;
	if (a == FL_ACT_RECONNECT && f->in_hs < f->o.max_hs) {
		set_state(f, d, FL_NEW);
		fl_dev_drop(f, d);
		d->flags &= (uint8_t)~FL_F_OBSERVED;
		f->c.reconnects++;
		return fl_dev_start(f, d);
	}
	if (!d->live && wake(f, d) < 0)
		return -1;
	if (f->o.cid) /* any pool socket: the server follows the CID */
		d->pool = (uint16_t)(f->pool_next++ % f->o.pool_n);
	notify(f, d);
	if (a == FL_ACT_REREGISTER)
		d->flags |= FL_F_REREG;
	send_request(f, d, a == FL_ACT_REREGISTER);
	return 0;
}

/* See fl_fleet.h: retransmissions (DTLS handshake: Mbed TLS's; CoAP: RFC
 * 7252 CON, 2 s doubling), give-ups and request timeouts. */
void fl_dev_tick(struct fl_fleet *f, struct fl_dev *d, int64_t now)
{
	int reg = d->state == FL_REGISTER || (d->flags & FL_F_REREG);
	if (d->state == FL_HANDSHAKE && bl_timer_get(&d->live->timer) > 0) {
		step_handshake(f, d); /* Mbed TLS retransmits or gives up */
		return;
	}
	if ((d->state != FL_REGISTER && d->state != FL_UPDATE) || now < d->wake_us)
		return;
	if (now < d->op_start_us + (int64_t)f->o.req_timeout_ms * 1000) {
		d->tries++;
		d->wake_us = now + ((int64_t)FL_ACK_TIMEOUT_US << (d->tries < 6 ? d->tries : 6));
		f->c.retransmits++;
		transmit(f, d, reg);
		return;
	}
	fl_error(f, d, "%s: no answer within %u ms (%u retransmissions)",
		 reg ? "Register" : "Update", f->o.req_timeout_ms, d->tries);
	f->c.err.req_timeout++;
	d->flags &= (uint8_t)~FL_F_REREG;
	if (d->state == FL_REGISTER) {
		fail(f, d);
		return;
	}
	set_state(f, d, FL_IDLE);
	hibernate(f, d);
}
