/* shim_client.c: moves plain CoAP between libcoap and the socket layer:
 * libcoap -> relay -> layer->send, and layer->receive (after poll() on the
 * layer's system socket, then while HAS_BUFFERED_DATA) -> relay -> libcoap. */
#include "client_shim/shim_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_shim/shim_bootstrap.h"
#include "client_shim/shim_lwm2m.h"
#include "client_shim/shim_reply.h"
#include "client_shim/shim_watch.h"
#include "lh_event.h"
#include "lh_time.h"

#define SHIM_DGRAM_MAX 65536
#define SHIM_TICK_MS 20

/* Creates the libcoap session to the relay (UDP, or TCP for TLS). */
static int open_session(shim_client_t *c)
{
	coap_address_t dst;

	coap_address_init(&dst);
	memcpy(&dst.addr, &c->relay.addr, c->relay.addr_len);
	dst.size = c->relay.addr_len;
	c->session = coap_new_client_session(c->ctx, NULL, &dst,
					     c->relay_stream ? COAP_PROTO_TCP : COAP_PROTO_UDP);
	c->coap_mtu = 0; /* libcoap's default MTU (1152) until shim_client_apply_mtu */
	if (!c->session)
		return -1;
	/* Only this session's datagrams are relayed from now on. */
	if (!c->relay_stream) {
		const coap_address_t *local = coap_session_get_addr_local(c->session);

		if (!local || local->size == 0)
			return -1;
		shim_relay_set_coap(&c->relay, &local->addr, local->size);
	}
	/* The loopback hop never loses anything: retransmissions are for the
	 * real link, so keep CoAP's defaults (ACK_TIMEOUT 2 s, 4 retries). */
	return 0;
}

/* Drops the libcoap session with every exchange it still has pending: a
 * request we gave up on must never reach the server later, on this link or
 * the next (libcoap's retransmit queue holds its own reference to the
 * session, so a bare release would keep retransmitting). Whatever the old
 * session already wrote to the relay goes too. TLS: the next connection
 * needs a fresh CSM anyway. */
static void close_session(shim_client_t *c)
{
	if (c->session) {
		coap_session_disconnected(c->session, COAP_NACK_NOT_DELIVERABLE);
		coap_session_release(c->session);
	}
	c->session = NULL;
	shim_relay_drop_conn(&c->relay);
	shim_relay_discard(&c->relay);
}

/* Opens the relay of the right kind for the transport. */
static int open_relay(shim_client_t *c, int stream)
{
	int ret;

	close_session(c);
	shim_relay_close(&c->relay);
	c->relay_stream = stream;
	ret = shim_relay_open(&c->relay, stream);
	if (ret) {
		fprintf(stderr, "lwm2m-client-shim: cannot open the loopback relay: %s\n",
			strerror(ret));
		return -1;
	}
	return stream ? 0 : open_session(c);
}

/* Sets up libcoap with our handlers and the /3/0 object. */
int shim_client_init(shim_client_t *c, const sl_vtable_t *vt)
{
	memset(c, 0, sizeof(*c));
	c->vt = vt;
	c->relay.fd = c->relay.conn_fd = -1;
	coap_startup();
	/* libcoap's own log (stderr) only when asked: LWM2M_SHIM_COAP_LOG=0..8. */
	coap_set_log_level(getenv("LWM2M_SHIM_COAP_LOG")
			       ? (coap_log_t)atoi(getenv("LWM2M_SHIM_COAP_LOG"))
			       : LOG_EMERG);
	c->ctx = coap_new_context(NULL);
	if (!c->ctx) {
		fprintf(stderr, "lwm2m-client-shim: cannot create the libcoap context\n");
		return -1;
	}
	coap_set_app_data(c->ctx, c);
	if (shim_lwm2m_init(c))
		return -1;
	return open_relay(c, 0);
}

/* Frees the layer socket, libcoap and the relay. */
void shim_client_free(shim_client_t *c)
{
	if (c->sock)
		c->vt->cleanup(&c->sock);
	close_session(c);
	shim_lwm2m_free(c);
	shim_bootstrap_free(c);
	if (c->ctx)
		coap_free_context(c->ctx);
	c->ctx = NULL;
	shim_relay_close(&c->relay);
	free(c->rbuf);
	c->rbuf = NULL;
	coap_cleanup();
}

/* A new configuration starts with an empty resumption buffer: a session of
 * other credentials must not be offered (load_resumption fills it after). */
static int ensure_rbuf(shim_client_t *c, size_t size)
{
	unsigned char *p;

	if (size == c->rbuf_size) {
		if (c->rbuf)
			memset(c->rbuf, 0, c->rbuf_size);
		return 0;
	}
	p = size ? calloc(1, size) : NULL;
	if (size && !p)
		return -1;
	free(c->rbuf);
	c->rbuf = p;
	c->rbuf_size = size;
	return 0;
}

/* Creates a fresh layer socket from cfg, replacing the old one. */
/* The Server object says what the config does: its Lifetime and Binding. */
static void shim_client_model_config(shim_client_t *c)
{
	shim_val_t *lt = shim_model_val(c->model, 1, 1), *b = shim_model_val(c->model, 1, 7);

	if (lt)
		lt->num = c->cfg.lifetime;
	if (b) {
		snprintf((char *)b->bytes, sizeof(b->bytes), "%s",
			 c->cfg.binding[0] ? c->cfg.binding : "U");
		b->len = strlen((char *)b->bytes);
	}
}

int shim_client_configure(shim_client_t *c, const shim_config_t *cfg, sl_error_t *err)
{
	sl_option_value_t v;
	sl_config_t lcfg;
	int ret;

	if (c->sock) {
		shim_client_close(c);
		c->vt->cleanup(&c->sock);
	}
	c->configured = 0;
	c->cfg = *cfg;
	shim_client_model_config(c);
	if (ensure_rbuf(c, cfg->resumption_size))
		return shim_reply_err_set(err, ENOMEM, "out of memory");
	if ((cfg->transport == SL_TRANSPORT_TLS) != c->relay_stream &&
	    open_relay(c, cfg->transport == SL_TRANSPORT_TLS))
		return shim_reply_err_set(err, EIO, "cannot open the loopback relay");
	shim_config_to_layer(&c->cfg, &lcfg, c->rbuf, c->rbuf_size);
	ret = c->vt->create(&c->sock, &lcfg, err);
	if (ret)
		return ret;
	if (cfg->n_dane) {
		v.dane.records = c->cfg.dane;
		v.dane.count = c->cfg.n_dane;
		ret = c->vt->set_option(c->sock, SL_OPT_DANE_TLSA, &v);
		if (ret)
			return shim_reply_err_set(err, ret, "the layer refused the DANE records");
	}
	c->configured = 1;
	return 0;
}

/* CoAP over TCP: the CSM exchange is over. */
static int session_established(shim_client_t *c)
{
	return c->session && coap_session_get_state(c->session) == COAP_SESSION_STATE_ESTABLISHED;
}

/* libcoap sizes every message to its session MTU: a body that does not fit
 * goes block-wise (Block1 for requests, Block2 for the Device object's
 * answers), with the block size chosen so the whole datagram fits. Without
 * this the session keeps libcoap's 1152 bytes and a large Register makes the
 * layer's send fail with EMSGSIZE on a small link. INNER_MTU changes with
 * the suite and the CID (each connect) and with set_option mtu, so callers
 * apply it after a connect, on a new session and before every request.
 * Over TLS/TCP there are no datagrams: the CSM's Max-Message-Size rules. */
void shim_client_apply_mtu(shim_client_t *c)
{
	sl_option_value_t v = {.u64 = 0};
	unsigned mtu;

	if (!c->session || !c->connected || c->relay_stream ||
	    c->vt->get_option(c->sock, SL_OPT_INNER_MTU, &v) || v.u64 == 0)
		return;
	mtu = v.u64 > 65535 ? 65535 : (unsigned)v.u64;
	if (mtu == c->coap_mtu)
		return;
	coap_session_set_mtu(c->session, mtu);
	c->coap_mtu = mtu;
	/* libcoap never goes below 64 bytes: coap_mtu shows what it really uses. */
	lh_event_emitf("coap_mtu", "{s:i,s:i}", "inner_mtu", (int)mtu, "coap_mtu",
		       (int)coap_session_max_pdu_size(c->session) + 4);
}

/* A fresh libcoap session: drops the retransmissions of requests nobody
 * waits for any more (NSTART=1 would hold every new request behind them).
 * Over TCP the CSMs are exchanged here, in our loop: libcoap's coap_send
 * would otherwise wait for the server's CSM in its own loop, unrelayed. */
int shim_client_reset_coap(shim_client_t *c, sl_error_t *err)
{
	close_session(c);
	if (open_session(c))
		return shim_reply_err_set(err, EIO, "cannot open the libcoap session");
	shim_client_apply_mtu(c);
	if (!c->relay_stream || shim_client_pump(c, c->cfg.request_timeout_ms, session_established))
		return 0;
	return shim_reply_err_set(err, ETIMEDOUT, "no CoAP CSM from the server within %ld ms",
				  c->cfg.request_timeout_ms);
}

/* Connects the layer. After a handshake CoAP starts afresh (the server sees
 * a new session too); a restored CID context keeps CoAP state as it was. */
int shim_client_connect(shim_client_t *c, sl_error_t *err)
{
	sl_option_value_t v = {.flag = 0};
	int ret;

	c->link_failed = 0;
	memset(&c->link_err, 0, sizeof(c->link_err));
	ret = c->vt->connect(c->sock, c->cfg.host, c->cfg.port, err);
	if (ret)
		return ret;
	c->connected = 1;
	c->vt->get_option(c->sock, SL_OPT_CONNECTION_ID_RESUMED, &v);
	if (c->session && v.flag && !c->relay_stream) {
		shim_client_apply_mtu(c);
		return 0;
	}
	ret = shim_client_reset_coap(c, err);
	if (ret)
		shim_client_close(c);
	return ret;
}

/* Forgets every exchange libcoap still has pending (the request the shim
 * gave up on above all): connected, a fresh session carries on; not
 * connected, the next connect opens one. */
int shim_client_drop_exchanges(shim_client_t *c, sl_error_t *err)
{
	if (c->connected)
		return shim_client_reset_coap(c, err);
	close_session(c);
	return 0;
}

/* Closes the layer connection (the layer keeps the session). */
void shim_client_close(shim_client_t *c)
{
	if (c->sock && c->connected)
		c->vt->close(c->sock);
	c->connected = 0;
	if (c->relay_stream)
		close_session(c);
}

/* Records a link failure seen while pumping, and says so in the timeline. */
static void link_error(shim_client_t *c, const char *what, const sl_error_t *err)
{
	json_t *ev = json_pack("{s:s}", "op", what);

	c->link_err = *err;
	c->link_failed = 1;
	shim_reply_add_error(ev, err);
	lh_event_emit("link_error", ev);
	if (err->code == EPROTO || err->code == ECONNRESET)
		shim_client_close(c);
}

/* Everything libcoap wrote to the relay goes to the layer, one datagram each. */
static void relay_to_layer(shim_client_t *c)
{
	static unsigned char buf[SHIM_DGRAM_MAX];
	unsigned long stale;
	sl_error_t err;
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		stale = c->relay.stale;
		n = shim_relay_read(&c->relay, buf, sizeof(buf));
		if (n < 0)
			return;
		if (c->relay.stale != stale)
			lh_event_emitf("coap_dropped", "{s:s}", "reason",
				       "from a dropped libcoap session");
		if (n == 0)
			continue;
		if (!c->connected) {
			lh_event_emitf("coap_dropped", "{s:s,s:i}", "reason", "not connected",
				       "bytes", (int)n);
			continue;
		}
		if (!c->relay_stream)
			shim_wire_note(&c->wire, buf, (size_t)n);
		memset(&err, 0, sizeof(err));
		if (c->vt->send(c->sock, buf, (size_t)n, &err))
			link_error(c, "send", &err);
		else
			c->sent_datagrams++;
	}
}

/* Receives one datagram from the layer and hands it to libcoap; returns 0 on
 * success, -1 when nothing more is to be had. */
static int layer_receive_one(shim_client_t *c)
{
	static unsigned char buf[SHIM_DGRAM_MAX];
	sl_error_t err;
	size_t len = 0, size = c->cfg.recv_buffer_size;
	int ret;

	/* A device's receive buffer may be smaller than a record: over TLS the
	 * rest then waits inside the layer (HAS_BUFFERED_DATA), not in the socket. */
	if (size == 0 || size > sizeof(buf))
		size = sizeof(buf);
	memset(&err, 0, sizeof(err));
	ret = c->vt->receive(c->sock, buf, size, &len, &err);
	if (ret == ETIMEDOUT)
		return -1;
	if (ret == EMSGSIZE) {
		lh_event_emitf("datagram_too_large", "{s:s}", "message", err.message);
		return 0;
	}
	if (ret) {
		link_error(c, "receive", &err);
		return -1;
	}
	c->recv_datagrams++;
	if (shim_relay_write(&c->relay, buf, len))
		lh_event_emitf("coap_dropped", "{s:s,s:i}", "reason", "libcoap not reachable",
			       "bytes", (int)len);
	return 0;
}

/* True when the layer holds data that poll() on its socket cannot see. */
static int layer_buffered(shim_client_t *c)
{
	sl_option_value_t v;

	if (!c->connected || c->vt->get_option(c->sock, SL_OPT_HAS_BUFFERED_DATA, &v))
		return 0;
	return v.flag;
}

/* As a real client does: one receive per readable poll, then drain while
 * HAS_BUFFERED_DATA says more is already inside the layer. */
static void layer_to_relay(shim_client_t *c)
{
	sl_option_value_t v = {.i64 = 0};
	int i;

	/* Never block here: poll() said readable, or the layer holds data. */
	if (c->vt->set_option(c->sock, SL_OPT_RECV_TIMEOUT, &v))
		return;
	if (layer_receive_one(c))
		return;
	for (i = 0; i < 256 && layer_buffered(c); i++)
		if (layer_receive_one(c))
			return;
}

/* Collects the descriptors to poll: relay, layer, libcoap. */
int shim_client_fds(shim_client_t *c, int *fds, int max)
{
	int n = 0;

	if (n < max && c->relay.fd >= 0)
		fds[n++] = shim_relay_poll_fd(&c->relay);
	if (n < max && c->relay_stream && c->relay.conn_fd < 0 && c->relay.fd >= 0)
		fds[n - 1] = c->relay.fd;
	if (n < max && c->connected && !c->asleep && c->vt->get_system_socket(c->sock) >= 0)
		fds[n++] = c->vt->get_system_socket(c->sock);
	if (n < max && c->ctx && coap_context_get_coap_fd(c->ctx) >= 0)
		fds[n++] = coap_context_get_coap_fd(c->ctx);
	return n;
}

/* One turn of the loop: wait up to wait_ms, then move bytes both ways. */
static void pump_once(shim_client_t *c, int wait_ms)
{
	struct pollfd pfd[3];
	int fds[3], n, i, layer_fd = c->connected ? c->vt->get_system_socket(c->sock) : -1;

	n = shim_client_fds(c, fds, 3);
	for (i = 0; i < n; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	if (!c->asleep && layer_buffered(c))
		wait_ms = 0;
	if (poll(pfd, (nfds_t)n, wait_ms) < 0 && errno != EINTR)
		return;
	for (i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == shim_relay_poll_fd(&c->relay) || pfd[i].fd == c->relay.fd)
			relay_to_layer(c);
		else if (pfd[i].fd == layer_fd && c->connected && !c->asleep)
			layer_to_relay(c);
	}
	if (c->connected && !c->asleep && layer_buffered(c))
		layer_to_relay(c);
	if (!c->asleep)
		shim_watch_tick(c);
	if (coap_io_process(c->ctx, COAP_IO_NO_WAIT) < 0)
		lh_event_emitf("coap_error", "{s:s}", "message", "libcoap I/O processing failed");
}

/* Runs the loop until done(c) or the timeout. */
int shim_client_pump(shim_client_t *c, long timeout_ms, int (*done)(shim_client_t *c))
{
	int64_t deadline = lh_time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0), left;

	for (;;) {
		if (done && done(c))
			return 1;
		left = deadline - lh_time_mono_ms();
		if (timeout_ms >= 0 && left <= 0)
			return 0;
		pump_once(c, timeout_ms < 0 ? 0 : (int)(left < SHIM_TICK_MS ? left : SHIM_TICK_MS));
		if (timeout_ms < 0)
			return done ? done(c) : 0;
	}
}
