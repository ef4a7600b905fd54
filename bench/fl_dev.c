/* fl_dev: one virtual LwM2M device of the fleet (see fl_fleet.h): once its
 * transport is up (fl_dtls.c: a handshake; fl_plain.c: at once) it
 * Registers, takes its turns (Update, re-Register, reconnect), answers the
 * server's Reads, Observes and Discovers in the format asked for (fl_fmt.c)
 * and notifies. It sees its transport only through f->tr. */
#include "fl_fleet.h"
#include "fl_fmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FL_MAX_ERRORS_PRINTED 5
#define FL_ACK_TIMEOUT_US 2000000 /* RFC 7252 ACK_TIMEOUT; doubled per retransmission */
#define FL_LINKS "</1/0>,</3/0>"
#define CODE_GET 0x01
#define CODE_CREATED 0x41
#define CODE_CHANGED 0x44
#define CODE_CONTENT 0x45
#define CODE_NOT_FOUND 0x84
#define CODE_NOT_ALLOWED 0x85
#define CODE_NOT_ACCEPTABLE 0x86

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

/* See fl_fleet.h: leaves the current state, keeping the fleet's counts
 * right. */
void fl_dev_set_state(struct fl_fleet *f, struct fl_dev *d, enum fl_state s)
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
	f->tr->drop(d);
}

/* See fl_fleet.h: a device that gave up; the error is counted by the
 * caller, the device holds nothing any more. */
void fl_dev_fail(struct fl_fleet *f, struct fl_dev *d)
{
	fl_dev_set_state(f, d, FL_FAILED);
	fl_dev_drop(f, d);
}

static void send_request(struct fl_fleet *f, struct fl_dev *d, int reg);

/* See fl_fleet.h: own socket, then the transport (a handshake, or the
 * Register at once). */
int fl_dev_start(struct fl_fleet *f, struct fl_dev *d)
{
	f->c.started++;
	if (fl_net_own_socket(f, d) < 0) {
		fl_error(f, d, "socket: %s (raise 'ulimit -n' or lower --max-handshakes)",
			 strerror(errno));
		goto err;
	}
	if (f->tr->connect(f, d) < 0)
		goto err;
	return 0;
err:
	f->c.err.other++;
	fl_dev_fail(f, d);
	return -1;
}

/* See fl_fleet.h: the transport is up; the device Registers. */
void fl_dev_connected(struct fl_fleet *f, struct fl_dev *d)
{
	send_request(f, d, 1);
}

/* Sends the request in flight: Register (reg) or Update, with the
 * device's current MID and token (a retransmission sends the same). */
static void transmit(struct fl_fleet *f, struct fl_dev *d, int reg)
{
	uint8_t pdu[256];
	char ep[96];
	const char *what = reg ? "Register" : "Update";
	size_t len;
	snprintf(ep, sizeof(ep), "%s%u", f->o.ep_prefix, d->idx);
	len = reg ? bl_coap_register(pdu, sizeof(pdu), d->req_mid, d->token, ep, f->o.lifetime,
				     FL_LINKS)
		  : bl_coap_update(pdu, sizeof(pdu), d->req_mid, d->token, d->location);
	if (!len) {
		fl_error(f, d, "%s: the message does not fit in %zu bytes", what, sizeof(pdu));
		f->c.err.other++;
		fl_dev_fail(f, d);
		return;
	}
	if (f->tr->write(f, d, pdu, len, what) < 0)
		fl_dev_fail(f, d);
}

/* A new Register (reg) or Update: a fresh MID and token (the MID and the
 * device's index), the first retransmission after ACK_TIMEOUT. */
static void send_request(struct fl_fleet *f, struct fl_dev *d, int reg)
{
	d->req_mid = ++d->mid; /* kept apart: NON answers meanwhile take MIDs too */
	memcpy(d->token, &d->req_mid, sizeof(d->req_mid));
	memcpy(d->token + 2, &d->idx, 2);
	d->op_start_us = bl_mono_us();
	d->wake_us = d->op_start_us + FL_ACK_TIMEOUT_US;
	d->tries = 0;
	fl_dev_set_state(f, d, reg && d->state != FL_IDLE ? FL_REGISTER : FL_UPDATE);
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

/* An Update answered 4.04: the server no longer knows the registration (it
 * restarted, or the lifetime ran out). A device Registers again (LwM2M 1.1
 * TS Core §6.3.2), so the fleet does too, at once, as a re-Register. */
static void register_again(struct fl_fleet *f, struct fl_dev *d)
{
	f->c.err.coap_4xx++;
	f->c.lost_registrations++;
	fl_error(f, d, "Update answered 4.04: the server lost the registration; Registering again");
	d->flags |= FL_F_REREG;
	send_request(f, d, 1);
}

/* The answer to our Register or Update: counted, then the device is idle. */
static void answered(struct fl_fleet *f, struct fl_dev *d, const struct bl_coap_msg *m)
{
	int reg = d->state == FL_REGISTER || (d->flags & FL_F_REREG);
	uint64_t us = (uint64_t)(bl_mono_us() - d->op_start_us);
	const char *what = reg ? "Register" : "Update";
	d->flags &= (uint8_t)~FL_F_REREG;
	if (!reg && m->code == CODE_NOT_FOUND) {
		fl_dev_set_state(f, d, FL_IDLE);
		register_again(f, d);
		return;
	}
	if (m->code != (reg ? CODE_CREATED : CODE_CHANGED)) {
		count_code(f, d, m->code, what);
		d->state == FL_REGISTER ? fl_dev_fail(f, d) : fl_dev_set_state(f, d, FL_IDLE);
		return;
	}
	if (reg && take_location(f, d, m) < 0) {
		fl_dev_fail(f, d);
		return;
	}
	bl_stats_add(&f->lat[reg ? FL_OP_REGISTER : FL_OP_UPDATE], us);
	if (d->state == FL_REGISTER)
		f->c.reg_ok++;
	else
		reg ? f->c.rereg_ok++ : f->c.upd_ok++;
	fl_dev_set_state(f, d, FL_IDLE);
}

/* The device's one value per resource: its index and a counter, as text. */
static void value_of(const struct fl_dev *d, char *out, size_t size)
{
	snprintf(out, size, "fleet-%u-%u", d->idx, d->obs_seq);
}

/* The value at path in Content-Format cf, into r's payload (buf). 0, or -1
 * when it does not fit (a bug: values here are short). */
static int put_value(const struct fl_dev *d, struct bl_coap_reply *r, int cf, const char *path,
		     uint8_t *buf, size_t size)
{
	char text[48];
	value_of(d, text, sizeof(text));
	r->payload = buf;
	r->payload_len = fl_fmt_encode(cf, path, text, buf, size);
	r->content_format = cf;
	return r->payload_len ? 0 : -1;
}

/* Whether path is inside the object instances the device registered
 * (FL_LINKS: /1/0 and /3/0); elsewhere a GET gets 4.04, as from a real
 * device. */
static int registered_path(const char *path)
{
	unsigned ids[4];
	int n = fl_fmt_path(path, ids);
	return n > 0 && (ids[0] == 1 || ids[0] == 3) && (n < 2 || ids[1] == 0);
}

/* Whether m names the device's observation (RFC 7641: by its token). */
static int is_observation(const struct fl_dev *d, const struct bl_coap_msg *m)
{
	return (d->flags & FL_F_OBSERVED) && m->token_len == d->obs_token_len &&
	       memcmp(m->token, d->obs_token, m->token_len) == 0;
}

/* A GET: Read, Observe (0 registers the one observation a device keeps, or
 * renews it with the same token; 1 with its token cancels it) or Discover, in the format the Accept
 * option asks for: 4.06 when the device has none (RFC 7252 §5.10.4), 4.04 for a path that is not an
 * LwM2M one or not the device's. */
static void serve_get(struct fl_fleet *f, struct fl_dev *d, const struct bl_coap_msg *m,
		      struct bl_coap_reply *r, uint8_t *buf, size_t size)
{
	int cf = registered_path(m->uri) ? fl_fmt_choose(m->accept, m->uri) : FL_FMT_BAD_PATH;
	if (cf == FL_FMT_BAD_PATH || cf == FL_FMT_NOT_ACCEPTABLE) {
		r->code = cf == FL_FMT_BAD_PATH ? CODE_NOT_FOUND : CODE_NOT_ACCEPTABLE;
		f->c.refused_reads++;
		return;
	}
	r->code = CODE_CONTENT;
	if (m->observe == 0 && cf != FL_FMT_LINK && m->token_len <= sizeof(d->obs_token) &&
	    (!(d->flags & FL_F_OBSERVED) || is_observation(d, m))) {
		memcpy(d->obs_token, m->token, m->token_len);
		d->obs_token_len = (uint8_t)m->token_len;
		snprintf(d->obs_path, sizeof(d->obs_path), "%.24s", m->uri); /* checked */
		d->obs_cf = (uint16_t)cf;
		d->flags |= FL_F_OBSERVED;
		r->observe = (int32_t)++d->obs_seq;
		f->c.observes++;
	} else if (m->observe == 1 && is_observation(d, m)) {
		d->flags &= (uint8_t)~FL_F_OBSERVED;
		f->c.cancels++;
	} else {
		/* a Read; or an Observe the device cannot add (it keeps one):
		 * answered without the Observe option, which tells the server
		 * so (RFC 7641 §4.1) */
		f->c.reads++;
		f->c.observes_declined += m->observe == 0;
	}
	if (put_value(d, r, cf, m->uri, buf, size) < 0)
		r->code = CODE_NOT_ACCEPTABLE;
}

/* A request from the server: GET answered (serve_get), others 4.05. */
static void serve(struct fl_fleet *f, struct fl_dev *d, const struct bl_coap_msg *m)
{
	uint8_t pdu[256], payload[160];
	struct bl_coap_reply r = {.type = BL_COAP_ACK,
				  .code = CODE_NOT_ALLOWED,
				  .mid = m->mid,
				  .token = m->token,
				  .token_len = m->token_len,
				  .observe = -1,
				  .content_format = -1};
	if (m->type == BL_COAP_NON) {
		r.type = BL_COAP_NON;
		r.mid = ++d->mid;
	}
	if (m->code == CODE_GET)
		serve_get(f, d, m, &r, payload, sizeof(payload));
	f->tr->write(f, d, pdu, bl_coap_reply(pdu, sizeof(pdu), &r), "answer");
}

/* A Reset (RFC 7252 §4.2): to our last notification, the server no longer
 * wants it (RFC 7641 §3.6: the observation ends); to the request in
 * flight, the server rejected it. */
static void reset(struct fl_fleet *f, struct fl_dev *d, const struct bl_coap_msg *m)
{
	if ((d->flags & FL_F_OBSERVED) && m->mid == d->obs_mid) {
		d->flags &= (uint8_t)~FL_F_OBSERVED;
		f->c.cancels++;
		return;
	}
	if ((d->state != FL_REGISTER && d->state != FL_UPDATE) || m->mid != d->req_mid) {
		f->c.unmatched++;
		return;
	}
	f->c.err.resets++;
	fl_error(f, d, "%s answered with a Reset (the server rejected the message)",
		 d->state == FL_REGISTER || (d->flags & FL_F_REREG) ? "Register" : "Update");
	d->flags &= (uint8_t)~FL_F_REREG;
	d->state == FL_REGISTER ? fl_dev_fail(f, d) : fl_dev_set_state(f, d, FL_IDLE);
}

/* See fl_fleet.h: one CoAP message from the server: a request for us, the
 * answer we wait for, a Reset, or noise (an empty ACK, a stale answer). */
void fl_dev_coap(struct fl_fleet *f, struct fl_dev *d, const uint8_t *buf, size_t len)
{
	struct bl_coap_msg m;
	if (bl_coap_parse(buf, len, &m) < 0)
		return;
	if (m.type == BL_COAP_RST) {
		reset(f, d, &m);
		return;
	}
	if (m.code != 0 && m.code < 0x20) {
		serve(f, d, &m);
		return;
	}
	if (m.type == BL_COAP_CON) { /* a separate response: ACK it */
		uint8_t ack[8];
		f->tr->write(f, d, ack, bl_coap_empty_ack(ack, sizeof(ack), m.mid), "ACK");
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

/* See fl_fleet.h: datagrams for the device; an idle one goes back to
 * sleep (DTLS: hibernated). */
void fl_dev_readable(struct fl_fleet *f, struct fl_dev *d)
{
	f->tr->readable(f, d);
	if (d->state == FL_IDLE)
		f->tr->sleep(f, d);
}

/* An observed device reports its value with each turn (NON, RFC 7641), in
 * the format its Observe asked for. */
static void notify(struct fl_fleet *f, struct fl_dev *d)
{
	uint8_t pdu[256], payload[160];
	struct bl_coap_reply r = {.type = BL_COAP_NON,
				  .code = CODE_CONTENT,
				  .token = d->obs_token,
				  .token_len = d->obs_token_len};
	if (!(d->flags & FL_F_OBSERVED))
		return;
	r.mid = ++d->mid;
	d->obs_mid = r.mid;
	r.observe = (int32_t)++d->obs_seq;
	if (put_value(d, &r, d->obs_cf, d->obs_path, payload, sizeof(payload)) < 0)
		return;
	if (f->tr->write(f, d, pdu, bl_coap_reply(pdu, sizeof(pdu), &r), "notification") > 0)
		f->c.notifies++;
}

/* See fl_fleet.h. A reconnect waits for room among the handshakes in flight
 * (an Update is sent meanwhile). */
int fl_dev_act(struct fl_fleet *f, struct fl_dev *d, enum fl_action a)
{
	if (d->state != FL_IDLE)
		return -1;
	if (a == FL_ACT_RECONNECT && f->in_hs < f->o.max_hs) {
		fl_dev_set_state(f, d, FL_NEW);
		fl_dev_drop(f, d);
		d->flags &= (uint8_t)~FL_F_OBSERVED;
		f->c.reconnects++;
		return fl_dev_start(f, d);
	}
	if (f->tr->wake(f, d) < 0)
		return -1;
	notify(f, d);
	if (a == FL_ACT_REREGISTER)
		d->flags |= FL_F_REREG;
	send_request(f, d, a == FL_ACT_REREGISTER);
	return 0;
}

/* See fl_fleet.h: retransmissions (DTLS handshake: the transport's; CoAP:
 * RFC 7252 CON, 2 s doubling), give-ups and request timeouts. */
void fl_dev_tick(struct fl_fleet *f, struct fl_dev *d, int64_t now)
{
	int reg = d->state == FL_REGISTER || (d->flags & FL_F_REREG);
	if (d->state == FL_HANDSHAKE) {
		f->tr->tick(f, d);
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
		fl_dev_fail(f, d);
		return;
	}
	fl_dev_set_state(f, d, FL_IDLE);
	f->tr->sleep(f, d);
}
