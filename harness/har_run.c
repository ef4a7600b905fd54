#include "har_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "har_ctx.h"
#include "har_emulator.h"
#include "har_exit.h"
#include "lh_file.h"
#include "lh_time.h"

#define CONFIGURE_TIMEOUT_MS 5000
/* The shim answers these at once: a wait for real work, in wall time. */
#define CONFIGURE_WAIT ((int)lh_time_real_ms(CONFIGURE_TIMEOUT_MS))
/* Bounds on what a misbehaving process can make the harness keep. */
#define TIMELINE_MAX 500000
#define GARBAGE_MAX 100
/* After quit: a sanitizer build's leak check at exit takes a while. */
#define SHIM_EXIT_GRACE_MS 3000
#define DEFAULT_SCENARIO_TIMEOUT_MS 60000

/* The words used in summaries and reports. */
const char *har_verdict_name(enum har_verdict v)
{
	return v == HAR_PASS ? "pass" : v == HAR_SKIP ? "skip" : "fail";
}

/* The first failure is the cause; later ones are consequences and are dropped. */
static void vfail(struct har_ctx *c, const char *kind, const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (c->fail)
		return;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (asprintf(&c->fail, "%s: %s: %s. Timeline: %s", c->sc->name, c->where,
		     msg ? msg : "(no message)", c->timeline_path) < 0)
		c->fail = NULL;
	c->fail_kind = kind;
	free(msg);
}

void har_ctx_failf(struct har_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(c, NULL, fmt, ap);
	va_end(ap);
}

/* The same with a failure type for junit.xml ("timeout", "sanitizer", ...). */
void har_ctx_failk(struct har_ctx *c, const char *kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(c, kind, fmt, ap);
	va_end(ap);
}

/* A sanitizer report or a bad exit found after the scenario had already
 * failed is still news (the first failure may be its consequence): it is
 * added to the message rather than dropped. */
static void fail_also(struct har_ctx *c, const char *kind, const char *text)
{
	char *more = NULL;
	if (!c->fail) {
		har_ctx_failk(c, kind, "%s", text);
		return;
	}
	if (asprintf(&more, "%s Also: %s.", c->fail, text) < 0)
		return;
	free(c->fail);
	c->fail = more;
	if (strcmp(kind, "sanitizer") == 0)
		c->fail_kind = kind;
}

/* Sanitizer builds report at exit: a process stopped on purpose must still
 * exit cleanly (0, or the signal that was sent), with no report in stderr. */
int har_ctx_check_exit(struct har_ctx *c, struct har_proc *p, int expected_signal, const char *when)
{
	char msg[1400], text[1600], report[8];
	if (p->exit_checked || p->pid <= 0)
		return 0;
	p->exit_checked = 1;
	if (har_exit_judge(p->reaped, p->status, expected_signal, p->err_log, msg, sizeof(msg)) ==
	    0)
		return 0;
	int sanitizer = har_exit_sanitizer_line(p->err_log, report, sizeof(report));
	snprintf(text, sizeof(text), "the %s %s %s", p->name, when, msg);
	fail_also(c, sanitizer ? "sanitizer" : "process_exit", text);
	har_timeline_note(
	    &c->tl, "process_exit_unclean",
	    json_pack("{s:s, s:s, s:s}", "process", p->name, "when", when, "what", msg));
	return -1;
}

/* The emulator tells its ports only through "listening" events. */
static void note_listening(struct har_ctx *c, const json_t *ev)
{
	const char *proto = json_string_value(json_object_get(ev, "proto"));
	const char *addr = json_string_value(json_object_get(ev, "addr"));
	if (proto && addr && strcmp(proto, "dtls") == 0)
		snprintf(c->dtls_addr, sizeof(c->dtls_addr), "%s", addr);
	if (proto && addr && strcmp(proto, "tls") == 0)
		snprintf(c->tls_addr, sizeof(c->tls_addr), "%s", addr);
}

/* Every line a process prints goes into the timeline; a line that is not a
 * JSON object is kept too (as "unparsed_output"), since garbage is a clue. */
void har_ctx_on_line(void *ctx, struct har_proc *p, char *line)
{
	struct har_ctx *c = ctx;
	json_error_t jerr;
	if (line[0] == '\0')
		return;
	json_t *ev = json_loads(line, 0, &jerr);
	if (c->tl.n >= TIMELINE_MAX) {
		har_ctx_failf(c, "more than %d events: the %s floods its output", TIMELINE_MAX,
			      p->name);
		json_decref(ev);
		return;
	}
	if (!json_is_object(ev)) {
		json_decref(ev);
		if (++c->garbage == GARBAGE_MAX)
			har_ctx_failf(c,
				      "the %s printed %d lines that are not JSON objects on stdout "
				      "(see %s/%s.stdout.log)",
				      p->name, GARBAGE_MAX, c->o->out_dir, p->name);
		if (c->garbage <= GARBAGE_MAX)
			har_timeline_note(&c->tl, "unparsed_output",
					  json_pack("{s:s, s:s}", "from", p->name, "line", line));
		return;
	}
	if (!json_object_get(ev, "src"))
		json_object_set_new(ev, "src", json_string(p->name));
	if (!json_is_number(json_object_get(ev, "ts")))
		json_object_set_new(ev, "ts", json_real(lh_time_wall()));
	const char *name = json_string_value(json_object_get(ev, "event"));
	if (p == &c->emu && name && strcmp(name, "listening") == 0)
		note_listening(c, ev);
	if (p == &c->shim && name && strcmp(name, "reply") == 0 && !c->reply &&
	    json_integer_value(json_object_get(ev, "id")) == c->waiting_id)
		c->reply = json_incref(ev);
	har_timeline_add(&c->tl, ev);
}

/* The last non-empty line of a log (what a dying process said last). */
static void last_line(const char *path, char *out, size_t size)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	out[0] = '\0';
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0]) {
			size_t n = strlen(buf) < size - 1 ? strlen(buf) : size - 1;
			memcpy(out, buf, n);
			out[n] = '\0';
		}
	}
	fclose(f);
}

/* A process whose stdout closed has exited (or is about to): record how. */
static void note_exit(struct har_ctx *c, struct har_proc *p)
{
	char status[96];
	for (int i = 0; i < 100 && !har_proc_check_exit(p); i++)
		poll(NULL, 0, 10);
	har_proc_status_text(p, status, sizeof(status));
	har_timeline_note(&c->tl, "process_exited",
			  json_pack("{s:s, s:s}", "process", p->name, "status", status));
	if (!c->stopping && !p->expected_exit) {
		char last[320];
		/* A sanitizer's first line says more than its closing "ABORTING". */
		int sanitizer = har_exit_sanitizer_line(p->err_log, last, sizeof(last));
		if (!sanitizer)
			last_line(p->err_log, last, sizeof(last));
		p->exit_checked = 1;
		har_ctx_failk(c, sanitizer ? "sanitizer" : "process_exit",
			      "the %s stopped unexpectedly (%s)%s%s; see %s", p->name, status,
			      sanitizer ? ", first sanitizer report: "
			      : last[0] ? ", its last words: "
					: "",
			      last, p->err_log);
	}
}

/* Reads a process's output; a closed stdout means it exited. */
static int read_proc(struct har_ctx *c, struct har_proc *p)
{
	if (har_proc_read(p, har_ctx_on_line, c) == 0)
		return 0;
	note_exit(c, p);
	return c->stopping || p->expected_exit ? 0 : -1;
}

/* One poll round over both processes' stdout and the relay's sockets.
 * Returns -1 if a process died. */
static int pump(struct har_ctx *c, int timeout_ms)
{
	struct pollfd fds[3 + HAR_NETSIM_MAX_FDS];
	int ret = 0, nns = 0;
	fds[0] = (struct pollfd){c->emu.out_fd, POLLIN, 0};
	fds[1] = (struct pollfd){c->shim.out_fd, POLLIN, 0};
	fds[2] = (struct pollfd){c->watch_fd, POLLIN, 0};
	if (c->ns_open) {
		nns = har_netsim_pollfds(&c->ns, fds + 3, HAR_NETSIM_MAX_FDS);
		int due = har_netsim_next_due(&c->ns);
		if (due >= 0 && due < timeout_ms)
			timeout_ms = due;
	}
	if (poll(fds, (nfds_t)(3 + nns), timeout_ms) < 0 && errno != EINTR)
		return -1;
	if (c->ns_open) {
		har_netsim_ready(&c->ns, fds + 3, nns);
		har_netsim_run_due(&c->ns);
	}
	if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && read_proc(c, &c->emu) < 0)
		ret = -1;
	if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && read_proc(c, &c->shim) < 0)
		ret = -1;
	return ret;
}

/* The only way the runner waits: input keeps flowing and deadlines hold. */
int har_ctx_wait(struct har_ctx *c, int64_t ms_deadline, int (*stop)(struct har_ctx *, void *),
		 void *arg)
{
	int capped = ms_deadline > c->deadline;
	if (capped)
		ms_deadline = c->deadline;
	for (;;) {
		if (stop && stop(c, arg))
			return 1;
		if (c->fail && !c->stopping)
			return -1;
		int64_t left = ms_deadline - lh_time_mono_ms();
		if (left <= 0 && capped && !c->stopping)
			har_ctx_failk(c, "timeout",
				      "the scenario ran out of time (timeout_ms %lld)",
				      (long long)c->timeout_ms);
		if (left <= 0)
			return 0;
		if (pump(c, left > 100 ? 100 : (int)left) < 0 && !c->stopping)
			return -1;
	}
}

/* Stop condition: the awaited reply arrived. */
static int reply_arrived(struct har_ctx *c, void *arg)
{
	(void)arg;
	return c->reply != NULL;
}

/* Commands and replies are matched by id, so stray replies are harmless. */
int har_ctx_command(struct har_ctx *c, json_t *cmd, int timeout_ms)
{
	json_decref(c->reply);
	c->reply = NULL;
	c->waiting_id = ++c->next_id;
	json_object_set_new(cmd, "id", json_integer(c->waiting_id));
	char *line = json_dumps(cmd, JSON_COMPACT);
	int sent = line ? har_proc_send(&c->shim, line) : -1;
	har_timeline_note(&c->tl, "command", json_pack("{s:O}", "command", cmd));
	free(line);
	json_decref(cmd);
	if (sent != 0) {
		har_ctx_failf(c, "cannot write to the shim's stdin (it exited or stopped reading)");
		return -1;
	}
	return har_ctx_wait(c, lh_time_mono_ms() + timeout_ms, reply_arrived, NULL);
}

/* True when the layer's "info" listed cap among what it lacks. */
static int lacks(const struct har_ctx *c, const char *cap)
{
	size_t n = strlen(cap);
	for (const char *p = c->lacks; (p = strstr(p, cap)); p += n)
		if ((p == c->lacks || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Asks the shim what its layer lacks, so the harness asks nothing of it
 * that would turn a runnable scenario into a skip. */
static int query_layer(struct har_ctx *c)
{
	int r = har_ctx_command(c, json_pack("{s:s}", "cmd", "info"), CONFIGURE_WAIT);
	if (r == 0)
		har_ctx_failf(c, "the shim did not reply to info within %d ms",
			      CONFIGURE_TIMEOUT_MS);
	if (r != 1)
		return -1;
	const char *l = json_string_value(json_object_get(c->reply, "lacks"));
	snprintf(c->lacks, sizeof(c->lacks), "%s", l ? l : "");
	return 0;
}

/* Merges over into base: objects key by key (so {"security": {"key_hex":
 * ...}} changes only the key), any other value replaces. */
void har_ctx_merge_config(json_t *base, const json_t *over)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)over, key, v)
	{
		json_t *old = json_object_get(base, key);
		if (json_is_object(old) && json_is_object(v))
			har_ctx_merge_config(old, v);
		else
			json_object_set_new(base, key, json_deep_copy(v));
	}
}

/* The shim's configure object: the scenario's client config merged with
 * over (NULL: none), minus the harness-only "layer", plus the emulator's
 * address. */
json_t *har_ctx_client_config(struct har_ctx *c, const json_t *over)
{
	json_t *cfg = json_deep_copy(json_object_get(c->sc->root, "client"));
	if (over)
		har_ctx_merge_config(cfg, over);
	json_object_del(cfg, "layer");
	char front[64];
	har_netsim_front_text(&c->ns, front, sizeof(front));
	json_object_set_new(cfg, "server", json_string(front));
	/* The client's secrets: with wire.pcap, Wireshark decrypts the session. */
	char keylog[1100];
	snprintf(keylog, sizeof(keylog), "%s/keylog.txt", c->o->out_dir);
	/* A layer that declared it cannot log keys would refuse the whole config. */
	if (!json_object_get(cfg, "keylog") && !lacks(c, "keylog")) {
		json_object_set_new(cfg, "keylog", json_string(keylog));
		/* The shim appends once a handshake completes; a scenario whose
		 * handshakes all fail still gets its (empty) keylog.txt. */
		char why[1200];
		int fd = lh_file_open_private(keylog, 1, why, sizeof(why));
		if (fd >= 0)
			close(fd);
	}
	return cfg;
}

/* Puts the network simulator between the shim and the emulator, with the
 * scenario's initial network profile. */
static int start_netsim(struct har_ctx *c)
{
	char pcap[1100], err[512];
	const json_t *net = json_object_get(c->sc->root, "network");
	snprintf(pcap, sizeof(pcap), "%s/wire.pcap", c->o->out_dir);
	if (har_netsim_open(&c->ns, c->dtls_addr, c->o->seed, pcap, &c->tl, err, sizeof(err)) !=
	    0) {
		har_ctx_failf(c, "network simulator: %s", err);
		return -1;
	}
	c->ns_open = 1;
	if (c->use_tls && har_netsim_open_tcp(&c->ns, c->tls_addr, err, sizeof(err)) != 0) {
		har_ctx_failf(c, "network simulator: %s", err);
		return -1;
	}
	if (net && har_netsim_apply(&c->ns, net, err, sizeof(err)) != 0) {
		har_ctx_failf(c, "network profile: %s", err);
		return -1;
	}
	return 0;
}

/* Starts the shim (with the layer, if any) and configures it. */
static int start_shim(struct har_ctx *c, int generation)
{
	char out[1100], err[1100], why[1400], gen[16] = "";
	const char *layer = c->o->layer;
	if (!layer)
		layer = json_string_value(
		    json_object_get(json_object_get(c->sc->root, "client"), "layer"));
	if (generation > 0)
		snprintf(gen, sizeof(gen), ".%d", generation + 1);
	snprintf(out, sizeof(out), "%s/shim%s.stdout.log", c->o->out_dir, gen);
	snprintf(err, sizeof(err), "%s/shim%s.stderr.log", c->o->out_dir, gen);
	char *argv[] = {(char *)c->o->shim_bin, layer ? "--layer" : NULL, (char *)layer, NULL};
	if (har_proc_spawn(&c->shim, "shim", argv, out, err, 1, why, sizeof(why)) != 0) {
		har_ctx_failf(c, "%s (use --shim PATH)", why);
		return -1;
	}
	if (query_layer(c) != 0)
		return -1;
	json_t *cmd =
	    json_pack("{s:s, s:o}", "cmd", "configure", "config", har_ctx_client_config(c, NULL));
	int r = har_ctx_command(c, cmd, CONFIGURE_WAIT);
	if (r == 0)
		har_ctx_failf(c, "the shim did not reply to configure within %d ms",
			      CONFIGURE_TIMEOUT_MS);
	if (r != 1)
		return -1;
	if (json_is_true(json_object_get(c->reply, "ok")))
		return 0;
	char *text = json_dumps(c->reply, JSON_COMPACT);
	const char *e = json_string_value(json_object_get(c->reply, "error"));
	if (e && strcmp(e, "UNSUPPORTED") == 0) {
		/* The layer declared it cannot do what the scenario needs. */
		if (asprintf(&c->skip, "the client layer cannot take this configuration: %s",
			     text ? text : "?") < 0)
			c->skip = NULL;
	} else {
		har_ctx_failf(c, "the shim refused the client configuration: %s",
			      text ? text : "?");
	}
	free(text);
	return -1;
}

/* Sends a command with a path argument and requires ok (UNSUPPORTED is a
 * skip). Returns 0 or -1. */
static int path_command(struct har_ctx *c, const char *name, const char *path)
{
	json_t *cmd = json_pack("{s:s, s:s}", "cmd", name, "path", path);
	int r = har_ctx_command(c, cmd, CONFIGURE_WAIT);
	if (r == 0)
		har_ctx_failf(c, "the shim sent no reply to %s within %d ms", name,
			      CONFIGURE_TIMEOUT_MS);
	if (r != 1)
		return -1;
	if (json_is_true(json_object_get(c->reply, "ok")))
		return 0;
	char *text = json_dumps(c->reply, JSON_COMPACT);
	const char *e = json_string_value(json_object_get(c->reply, "error"));
	if (e && strcmp(e, "UNSUPPORTED") == 0) {
		if (asprintf(&c->skip, "the client layer cannot %s: %s", name, text ? text : "?") <
		    0)
			c->skip = NULL;
	} else {
		har_ctx_failf(c, "%s failed: %s", name, text ? text : "?");
	}
	free(text);
	return -1;
}

/* Models a device reboot with its persisted session, as the ABI allows. */
int har_ctx_client_reboot(struct har_ctx *c)
{
	char path[1100], status[96];
	snprintf(path, sizeof(path), "%s/resumption-%d.bin", c->o->out_dir, c->shim_generation + 1);
	/* The layer's close keeps the session (the whole context with a CID) in
	 * the resumption buffer: what a device persists before it goes down. */
	json_t *close_cmd = json_pack("{s:s}", "cmd", "close");
	if (har_ctx_command(c, close_cmd, CONFIGURE_WAIT) != 1 ||
	    !json_is_true(json_object_get(c->reply, "ok"))) {
		har_ctx_failf(c, "the shim's close before the reboot did not succeed");
		return -1;
	}
	if (path_command(c, "save_resumption", path) != 0)
		return -1;
	/* A power cut: no close_notify, no goodbye. */
	c->shim.expected_exit = 1;
	if (c->shim.pid > 0 && !c->shim.reaped)
		kill(-c->shim.pid, SIGKILL);
	har_proc_stop(&c->shim, 0);
	har_ctx_drain(c, &c->shim);
	har_proc_status_text(&c->shim, status, sizeof(status));
	if (har_ctx_check_exit(c, &c->shim, SIGKILL, "did not die cleanly at the reboot:") != 0)
		return -1;
	har_proc_release(&c->shim);
	har_timeline_note(&c->tl, "client_rebooted",
			  json_pack("{s:s, s:s}", "status", status, "resumption", path));
	if (start_shim(c, ++c->shim_generation) != 0)
		return -1;
	return path_command(c, "load_resumption", path);
}

/* Reads what a stopped process still had in its pipe. */
void har_ctx_drain(struct har_ctx *c, struct har_proc *p)
{
	for (int i = 0; i < 64 && p->out_fd >= 0; i++)
		if (har_proc_read(p, har_ctx_on_line, c) != 0 || !p->reaped)
			break;
}

/* Always runs: the shim gets EOF on stdin (its clean exit), then both
 * process groups are terminated, killed if need be, and reaped. */
static void teardown(struct har_ctx *c)
{
	c->stopping = 1;
	if (c->shim.pid > 0 && !c->shim.reaped) {
		har_proc_send(&c->shim, "{\"cmd\":\"quit\"}");
		int64_t end = lh_time_mono_ms() + lh_time_real_ms(SHIM_EXIT_GRACE_MS);
		c->deadline = end;
		/* Until it has exited, not just closed stdout: SIGTERM during its
		 * exit-time leak check would be an unclean end it did not cause. */
		while ((c->shim.out_fd >= 0 || !har_proc_check_exit(&c->shim)) &&
		       lh_time_mono_ms() < end)
			pump(c, 20);
	}
	har_proc_stop(&c->shim, c->o->grace_ms);
	har_proc_stop(&c->emu, har_emulator_grace_ms(c));
	har_ctx_drain(c, &c->shim);
	har_ctx_drain(c, &c->emu);
	/* The shim was asked to quit, the emulator got SIGTERM: both exit 0. */
	if (!c->shim.expected_exit)
		har_ctx_check_exit(c, &c->shim, 0, "did not end cleanly after quit:");
	if (!c->emu.expected_exit)
		har_ctx_check_exit(c, &c->emu, 0, "did not end cleanly after SIGTERM:");
	har_proc_release(&c->shim);
	har_proc_release(&c->emu);
	if (c->ns_open)
		har_netsim_close(&c->ns);
	c->ns_open = 0;
	har_emulator_cleanup(c);
}

/* Starts the emulator, the relay and the shim, naming each stage for a
 * failure message. */
static int setup(struct har_ctx *c)
{
	snprintf(c->where, sizeof(c->where), "setup (starting the emulator)");
	if (har_emulator_start(c, 0) != 0)
		return -1;
	snprintf(c->where, sizeof(c->where), "setup (starting the network simulator)");
	if (start_netsim(c) != 0 || har_emulator_runtime_vars(c) != 0)
		return -1;
	snprintf(c->where, sizeof(c->where), "setup (starting and configuring the client shim)");
	return start_shim(c, 0);
}

/* Turns the context's outcome into the result. The duration is wall time
 * (what a person waits), the scenario's own time is kept beside it. */
static void fill_result(struct har_ctx *c, struct har_result *res, int64_t t0, int64_t real_t0)
{
	res->duration_s = (double)(lh_time_real_mono_ms() - real_t0) / 1000.0;
	res->scenario_s = (double)(lh_time_mono_ms() - t0) / 1000.0;
	res->time_warp = lh_time_warp() > 1 ? lh_time_warp() : 1;
	res->seed = c->o->seed;
	if (c->fail) {
		snprintf(res->kind, sizeof(res->kind), "%s",
			 c->fail_kind ? c->fail_kind : "failure");
		res->verdict = HAR_FAIL;
		res->message = c->fail;
		c->fail = NULL;
	} else if (c->skip) {
		res->verdict = HAR_SKIP;
		res->message = c->skip;
		c->skip = NULL;
	} else {
		res->verdict = HAR_PASS;
		res->message = NULL;
	}
}

/* The whole life of one scenario; the processes never outlive it. */
int har_run_scenario(const struct har_scenario *sc, const struct har_run_opts *o,
		     struct har_result *res)
{
	int64_t t0 = lh_time_mono_ms(), real_t0 = lh_time_real_mono_ms();
	int ret = 0;
	struct har_ctx c = {0};
	json_t *tmo = json_object_get(sc->root, "timeout_ms");
	c.sc = sc;
	c.o = o;
	c.emu.out_fd = c.emu.in_fd = c.shim.out_fd = c.shim.in_fd = c.watch_fd = -1;
	const char *transport =
	    json_string_value(json_object_get(json_object_get(sc->root, "client"), "transport"));
	c.use_tls = transport && strcmp(transport, "tls") == 0;
	c.timeout_ms = tmo ? json_integer_value(tmo) : DEFAULT_SCENARIO_TIMEOUT_MS;
	c.deadline = t0 + c.timeout_ms;
	snprintf(c.where, sizeof(c.where), "setup");
	snprintf(c.timeline_path, sizeof(c.timeline_path), "%s/timeline.jsonl", o->out_dir);
	memset(res, 0, sizeof(*res));
	if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST) {
		har_ctx_failf(&c, "cannot create %s: %s", o->out_dir, strerror(errno));
		ret = -1;
		goto exit;
	}
	har_timeline_note(&c.tl, "scenario_started",
			  json_pack("{s:s, s:s, s:I, s:i}", "name", sc->name, "file", sc->file,
				    "seed", (json_int_t)o->seed, "time_warp",
				    lh_time_warp() > 1 ? lh_time_warp() : 1));
	if (setup(&c) == 0)
		har_steps_run(&c);
	snprintf(c.where, sizeof(c.where), "teardown");
	teardown(&c);
	har_timeline_note(&c.tl, "scenario_finished",
			  json_pack("{s:s}", "verdict",
				    c.fail   ? "fail"
				    : c.skip ? "skip"
					     : "pass"));
	if (har_timeline_write(&c.tl, c.timeline_path) != 0)
		fprintf(stderr, "lwm2m-harness: cannot write %s: %s\n", c.timeline_path,
			strerror(errno));
exit:
	fill_result(&c, res, t0, real_t0);
	json_decref(c.reply);
	har_timeline_free(&c.tl);
	return ret;
}
