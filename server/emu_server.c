/* The emulator's event loop: epoll over the public sockets, TLS
 * connections, the control socket and a signalfd; a timer heap for Mbed TLS
 * and CoAP retransmissions; housekeeping once a second. */
#include "emu_server.h"
#include "emu_model.h"
#include "emu_dtls.h"
#include "emu_vhost.h"
#include "emu_reload.h"
#include "emu_tls.h"
#include "emu_demux.h"
#include "emu_control.h"
#include "emu_http.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "emu_bootstrap.h"
#include "emu_device.h"
#include "emu_keylog.h"
#include "emu_request.h"
#include "emu_linger.h"
#include "emu_plain.h"
#include "emu_state.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"
#include "emu_udp.h"
#include "emu_ctxpool.h"

#define EMU_MAX_EVENTS 64

/* Opens the public UDP socket for DTLS on bind:port; returns the port. */
static int open_dtls_socket(struct emu_server *srv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EMU_FD_TAG(EMU_FD_DTLS, 0)};
	if (lh_addr_parse(emu_gen_cfg(srv)->bind, emu_gen_cfg(srv)->dtls_port, &ss, &len) < 0)
		return -1;
	srv->dtls_fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->dtls_fd < 0 || bind(srv->dtls_fd, (struct sockaddr *)&ss, len) < 0 ||
	    getsockname(srv->dtls_fd, (struct sockaddr *)&ss, &len) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->dtls_fd, &ev) < 0) {
		fprintf(stderr, "lwm2m-emulator: cannot listen for DTLS on %s port %d: %s\n",
			emu_gen_cfg(srv)->bind, emu_gen_cfg(srv)->dtls_port, strerror(errno));
		return -1;
	}
	emu_udp_socket_setup(srv->dtls_fd, "DTLS");
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* DTLS and plain CoAP sessions hold no descriptor, but every TLS
 * connection and control client does: like any server, take the hard
 * limit rather than the usual soft 1024, and say so when even that is
 * small. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < 65536)
		lh_event_emitf("fd_limit", "{s:I, s:s}", "limit", (json_int_t)rl.rlim_cur, "effect",
			       "TLS connections are limited to about this many (ulimit -n)");
}

/* SIGTERM/SIGINT/SIGHUP arrive as readable data in the loop. */
static int open_signalfd(struct emu_server *srv)
{
	sigset_t set;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EMU_FD_TAG(EMU_FD_SIGNAL, 0)};
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	srv->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (srv->sigfd < 0 || epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->sigfd, &ev) < 0)
		return -1;
	return 0;
}

/* Formats bind:port for the listening event. */
static void emit_listening(struct emu_server *srv, const char *proto, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char addr[LH_ADDR_STRLEN];
	if (lh_addr_parse(emu_gen_cfg(srv)->bind, port, &ss, &len) < 0)
		return;
	lh_event_emitf("listening", "{s:s, s:s}", "proto", proto, "addr",
		       lh_addr_format((struct sockaddr *)&ss, addr, sizeof(addr)));
}

/* Sessions restored from --state keep the CIDs of the run that saved them,
 * whatever the config says now: the demux must find those lengths too. When
 * the config now has several lengths and a restored CID cannot say its own
 * (it was assigned while one length was in use), that session is closed:
 * its client falls back to a new handshake, as after a restart without
 * state. */
static void restored_cids(struct emu_server *srv)
{
	char err[512];
	uint64_t lengths;
	struct emu_session *s, *tmp;
	if (emu_vhost_cid_plan(srv, srv->cid_lengths, &lengths, err, sizeof(err)) < 0) {
		fprintf(stderr, "lwm2m-emulator: --state %s: %s\n", emu_gen_cfg(srv)->state, err);
		HASH_ITER(hh_id, srv->sessions.by_id, s, tmp)
		if (s->cid_indexed && EMU_CID_LEN_OF(s->cid[0]) != s->cid_len)
			emu_session_close(s, "cid_settings_changed");
		emu_vhost_cid_plan(srv, srv->cid_lengths, &lengths, err, sizeof(err));
	}
	emu_vhost_cid_set(srv, lengths);
}

int emu_server_init(struct emu_server *srv, struct emu_config *cfg)
{
	memset(srv, 0, sizeof(*srv));
	srv->cfg = cfg;
	srv->dtls_fd = srv->sigfd = srv->ctl_fd = srv->epfd = srv->tls_fd = srv->coap_fd = -1;
	srv->started_ms = lh_time_mono_ms();
	emu_sessions_init(&srv->sessions);
	emu_timers_init(&srv->timers);
	emu_hib_init(srv);
	raise_fd_limit();
	/* Registration ids differ across restarts: seeded from the wall clock's
	 * milliseconds, reduced in 64 bits (a double too big for uint32_t is UB). */
	uint32_t seed = (uint32_t)((uint64_t)(lh_time_wall() * 1000.0) & 0xfffff);
	emu_registry_init(&srv->registry, seed | 0x100000);
	if (emu_udp_init(srv) < 0 || emu_ctxpool_init(srv) < 0)
		return -1;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0 || open_signalfd(srv) < 0) {
		fprintf(stderr, "lwm2m-emulator: epoll/signalfd: %s\n", strerror(errno));
		return -1;
	}
	if (cfg->keylog && emu_keylog_open(cfg->keylog) < 0)
		return -1;
	if (emu_dtls_init(srv) < 0 || emu_request_init(srv) < 0 || emu_bootstrap_init(srv) < 0)
		return -1;
	if (cfg->coap_port != EMU_PORT_OFF) {
		srv->coap_port_bound = emu_plain_open(srv);
		if (srv->coap_port_bound < 0)
			return -1;
	}
	if (cfg->dtls_port != EMU_PORT_OFF) {
		srv->dtls_port_bound = open_dtls_socket(srv);
		if (srv->dtls_port_bound < 0)
			return -1;
	}
	if (emu_tls_init(srv) < 0)
		return -1;
	if (cfg->control && emu_control_open(srv, cfg->control) < 0)
		return -1;
	if (cfg->http && emu_http_open(srv) < 0)
		return -1;
	if (cfg->state && emu_state_load(srv, cfg->state) < 0)
		return -1;
	if (cfg->state)
		restored_cids(srv);
	if (cfg->coap_port != EMU_PORT_OFF)
		emit_listening(srv, "coap", srv->coap_port_bound);
	if (cfg->dtls_port != EMU_PORT_OFF)
		emit_listening(srv, "dtls", srv->dtls_port_bound);
	if (srv->tls_fd >= 0)
		emit_listening(srv, "tls", srv->tls_port_bound);
	emu_models_announce(cfg->models);
	if (cfg->control)
		lh_event_emitf("control_ready", "{s:s}", "path", cfg->control);
	srv->running = 1;
	return 0;
}

int emu_server_reload(struct emu_server *srv, char *err, size_t err_size)
{
	struct emu_config fresh;
	json_t *ignored = json_array();
	int ret = -1;
	emu_config_defaults(&fresh);
	if (!srv->argv) {
		snprintf(err, err_size, "no command line to reload from");
		goto exit;
	}
	if (emu_config_parse_args(&fresh, srv->argc, srv->argv, stderr, err, err_size) !=
	    EMU_ARGS_RUN)
		goto exit;
	size_t psks = fresh.psk.count, vhosts = fresh.vhost_count;
	emu_gen_keep_restart_only(emu_gen_cfg(srv), &fresh, ignored);
	/* Everything together: on failure nothing changed. */
	if (emu_gen_reload(srv, &fresh, err, err_size) < 0)
		goto exit;
	lh_event_emitf("config_reloaded", "{s:I, s:I, s:s, s:O}", "psk_identities",
		       (json_int_t)psks, "vhosts", (json_int_t)vhosts, "certificate",
		       emu_gen_fingerprint(srv), "needs_restart", ignored);
	emu_models_announce(emu_gen_cfg(srv)->models);
	ret = 0;
exit:
	json_decref(ignored);
	emu_config_free(&fresh);
	return ret;
}

/* Reads pending signals: TERM/INT stop the loop, HUP reloads credentials. */
static void handle_signals(struct emu_server *srv)
{
	struct signalfd_siginfo si;
	char err[256];
	while (read(srv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP && emu_server_reload(srv, err, sizeof(err)) < 0)
			lh_event_emitf("config_reload_failed", "{s:s}", "message", err);
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			lh_event_emitf("shutdown", "{s:s}", "signal",
				       si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			srv->running = 0;
		}
	}
}

/* An entry of a session's timer is live while it is the session's current
 * one (live or hibernated), as run_timers checks when it pops; a server
 * request's (and the linger wakeup, whose id has the same bit) are kept. */
static int timer_live(void *ctx, const struct emu_timer_entry *e)
{
	struct emu_server *srv = ctx;
	if (e->session & EMU_TIMER_REQUEST)
		return 1;
	const struct emu_session *s = emu_sessions_by_id(&srv->sessions, e->session);
	if (s)
		return e->gen == s->timer_gen && s->timer_fin != 0;
	const struct emu_hib *h = emu_hib_find(srv, e->session);
	return h && e->gen == h->timer_gen && h->timer_fin != 0;
}

/* Pops due timers; stale entries (re-armed or cancelled timers) are skipped. */
static void run_timers(struct emu_server *srv, int64_t now)
{
	struct emu_timer_entry e;
	srv->stats.timer_entries_dropped += emu_timers_compact(&srv->timers, timer_live, srv);
	while (emu_timers_pop_due(&srv->timers, now, &e)) {
		if (e.session & EMU_TIMER_REQUEST) {
			emu_request_timer(srv, e.session & ~EMU_TIMER_REQUEST, e.gen);
			continue;
		}
		struct emu_session *s = emu_sessions_by_id(&srv->sessions, e.session);
		if (!s)
			emu_hib_timer(srv, e.session, e.gen);
		if (!s || e.gen != s->timer_gen || s->timer_fin == 0)
			continue;
		s->tp->timer(s);
	}
}

/* Dispatches one epoll event by the kind tagged on it. */
static void dispatch(struct emu_server *srv, uint64_t tag)
{
	switch (EMU_FD_KIND(tag)) {
	case EMU_FD_DTLS:
		emu_demux_readable(srv, EMU_PATH_DTLS);
		break;
	case EMU_FD_PLAIN:
		emu_demux_readable(srv, EMU_PATH_COAP);
		break;
	case EMU_FD_SIGNAL:
		handle_signals(srv);
		break;
	case EMU_FD_TLS_LISTEN:
		emu_tls_accept(srv);
		break;
	case EMU_FD_TLS_CONN:
		emu_tls_readable(srv, EMU_FD_ID(tag));
		break;
	case EMU_FD_TLS_LINGER:
		emu_linger_readable(srv, EMU_FD_ID(tag));
		break;
	case EMU_FD_CONTROL:
		emu_control_accept(srv);
		break;
	case EMU_FD_CONTROL_CLIENT:
		emu_control_readable(srv, EMU_FD_ID(tag));
		break;
	case EMU_FD_HTTP:
		emu_http_readable(srv);
		break;
	default:
		break;
	}
}

int emu_server_step(struct emu_server *srv, int max_wait_ms)
{
	struct epoll_event evs[EMU_MAX_EVENTS];
	int64_t now = lh_time_mono_ms();
	int64_t wait = emu_timers_next_in(&srv->timers, now);
	int64_t delayed = emu_faults_run(srv, now);
	int64_t http = emu_http_wait_ms(srv);
	if (wait < 0 || wait > max_wait_ms)
		wait = max_wait_ms;
	if (http >= 0 && http < wait)
		wait = http;
	if (delayed >= 0 && delayed < wait)
		wait = delayed;
	/* What the last turn emitted, in one write per stream, before waiting;
	 * then its datagrams, in one sendmmsg per socket. */
	lh_event_flush();
	emu_udp_flush(srv);
	int n = epoll_wait(srv->epfd, evs, EMU_MAX_EVENTS, (int)wait);
	if (n < 0 && errno != EINTR) {
		fprintf(stderr, "lwm2m-emulator: epoll_wait: %s\n", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++)
		dispatch(srv, evs[i].data.u64);
	emu_bootstrap_run(srv);
	now = lh_time_mono_ms();
	run_timers(srv, now);
	emu_http_tick(srv, now);
	emu_state_tick(srv, now);
	emu_linger_expire(srv, now);
	if (now >= srv->next_expiry_check) {
		emu_device_housekeeping(srv, now);
		emu_hib_sweep(srv, now);
		emu_control_sweep(srv);
		srv->next_expiry_check = now + 1000;
	}
	/* Before the next turn's faults release delayed datagrams directly. */
	emu_udp_flush(srv);
	return n > 0 ? n : 0;
}

int emu_server_run(struct emu_server *srv)
{
	srv->ran = 1;
	while (srv->running)
		if (emu_server_step(srv, 1000) < 0)
			return -1;
	return 0;
}

/* After a shutdown save that made the state durable: the established DTLS
 * sessions (the ones the file holds) and the hibernated records and
 * registrations are not freed one by one (at 100k sessions, seconds of
 * zeroing and unmapping record buffers that the exit hands back whole), one
 * event instead of a session_closed each. Every other session (TLS, plain
 * CoAP, a handshake in progress) is closed as always. Only when
 * emu_state_exit_fast() says so. */
static void keep_for_exit(struct emu_server *srv)
{
	struct emu_session *s, *tmp;
	size_t kept = 0;
	HASH_ITER(hh_id, srv->sessions.by_id, s, tmp)
	{
		if (s->state == EMU_SESS_OPEN && s->tp == &emu_transport_dtls)
			kept++;
		else
			emu_session_close(s, "shutdown");
	}
	lh_event_emitf("sessions_kept", "{s:I, s:I, s:I}", "sessions", (json_int_t)kept,
		       "hibernated", (json_int_t)srv->hib.count, "registrations",
		       (json_int_t)srv->registry.count);
}

/* Closes every session (events, close_notify alerts), hibernated or live. */
static void close_all(struct emu_server *srv)
{
	struct emu_session *s, *tmp;
	HASH_ITER(hh_id, srv->sessions.by_id, s, tmp)
	emu_session_close(s, "shutdown");
	emu_hib_fini(srv);
}

void emu_server_fini(struct emu_server *srv)
{
	int kept = srv->ran && emu_gen_cfg(srv)->state &&
		   emu_state_save(srv, emu_gen_cfg(srv)->state) == 0 && emu_state_exit_fast();
	emu_http_close(srv);
	if (kept)
		keep_for_exit(srv);
	else
		close_all(srv);
	emu_udp_fini(srv); /* the close_notify alerts of the sessions just closed */
	emu_control_close(srv);
	emu_faults_fini(srv);
	emu_keylog_close();
	if (!kept)
		emu_registry_fini(&srv->registry);
	emu_bootstrap_fini(srv);
	emu_request_fini(srv);
	emu_tls_fini(srv);
	emu_ctxpool_fini(srv); /* before the configs its contexts use */
	emu_dtls_fini(srv);
	emu_timers_fini(&srv->timers);
	if (srv->dtls_fd >= 0)
		close(srv->dtls_fd);
	emu_plain_close(srv);
	if (srv->sigfd >= 0)
		close(srv->sigfd);
	if (srv->epfd >= 0)
		close(srv->epfd);
}
