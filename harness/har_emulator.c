#include "har_emulator.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "har_match.h"
#include "har_vars.h"
#include "lh_time.h"

#define LISTEN_TIMEOUT_MS 10000
#define CTL_TIMEOUT_MS 5000
#define CTL_REPLY_MAX 65536

/* Stop condition: the emulator said where its DTLS port is. */
static int have_dtls_addr(struct har_ctx *c, void *arg)
{
	(void)arg;
	return c->dtls_addr[0] != '\0' && (!c->use_tls || c->tls_addr[0] != '\0');
}

/* ${server_addr} and ${server_uri} in the emulator's config: the network
 * simulator's front, where the client reaches the emulator (har_vars.h). */
static int expand_runtime(struct har_ctx *c, json_t *cfg)
{
	char front[64];
	struct har_errs errs = {0};
	har_netsim_front_text(&c->ns, front, sizeof(front));
	struct har_vars_env env = {.server_addr = front,
				   .scheme = c->use_tls ? "coaps+tcp" : "coaps"};
	size_t n = har_vars_expand_runtime(cfg, "$.emulator", &env, &errs);
	if (n)
		har_ctx_failf(c, "%s: %s", errs.v[0].path, errs.v[0].msg);
	har_errs_free(&errs);
	return n ? -1 : 0;
}

/* Writes the emulator config: the scenario's, bound to loopback, on
 * ephemeral ports (the listening events say which), with a control socket. */
static int write_config(struct har_ctx *c, const char *path)
{
	json_t *cfg = json_deep_copy(c->sc->emulator);
	if (c->ns_open && expand_runtime(c, cfg) != 0) {
		json_decref(cfg);
		return -1;
	}
	json_t *ports = json_pack("{s:i, s:i}", "coap", 0, "dtls", c->emu_dtls_port);
	/* TLS/TCP only when the scenario uses it; never on the default port. */
	json_object_set_new(ports, "tls",
			    c->use_tls ? json_integer(c->emu_tls_port) : json_string("off"));
	json_object_set_new(cfg, "bind", json_string("127.0.0.1"));
	json_object_set_new(cfg, "ports", ports);
	json_object_set_new(cfg, "control", json_string(c->emu_ctl_path));
	int rc = json_dump_file(cfg, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(cfg);
	if (rc != 0)
		har_ctx_failf(c, "cannot write %s: %s", path, strerror(errno));
	return rc;
}

/* The port of "host:port", or 0. */
static int port_of(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	return colon ? atoi(colon + 1) : 0;
}

/* Remembers the ports so that a restart comes back on them. */
static void keep_port(struct har_ctx *c)
{
	c->emu_dtls_port = port_of(c->dtls_addr);
	c->emu_tls_port = port_of(c->tls_addr);
}

/* True when some step restarts or starts the emulator with keep_state. */
static int uses_state(const struct har_ctx *c)
{
	size_t i;
	const json_t *step;
	json_array_foreach(json_object_get(c->sc->root, "steps"), i, step)
	{
		if (json_is_true(json_object_get(step, "keep_state")))
			return 1;
	}
	return 0;
}

/* An emulator with --state saves on SIGTERM: write, fsync, rename. The
 * fsync waits for the filesystem's journal, which under other processes'
 * writes (a parallel CI's builds beside it) once took more than 10 s here;
 * killing the emulator then would fail the scenario for the disk's sake,
 * and lose the save the step is about. So it gets 30 s at least. */
int har_emulator_grace_ms(const struct har_ctx *c)
{
	return uses_state(c) && c->o->grace_ms < HAR_EMULATOR_SAVE_GRACE_MS
		   ? HAR_EMULATOR_SAVE_GRACE_MS
		   : c->o->grace_ms;
}

/* Every start learns its ports from the listening event, never from guesses. */
int har_emulator_start(struct har_ctx *c, int generation)
{
	char cfg[1100], out[1100], err[1100], keylog[1100], why[1400], gen[16] = "";
	const char *dir = c->o->out_dir;
	if (generation > 0)
		snprintf(gen, sizeof(gen), ".%d", generation + 1);
	if (!c->emu_ctl_path[0])
		har_emulator_ctl_path((int)getpid(), c->emu_ctl_path, sizeof(c->emu_ctl_path));
	snprintf(cfg, sizeof(cfg), "%s/emulator.json", dir);
	snprintf(out, sizeof(out), "%s/emulator%s.stdout.log", dir, gen);
	snprintf(err, sizeof(err), "%s/emulator%s.stderr.log", dir, gen);
	snprintf(keylog, sizeof(keylog), "%s/keylog-emulator%s.txt", dir, gen);
	if (write_config(c, cfg) != 0)
		return -1;
	char state[1100];
	snprintf(state, sizeof(state), "%s/emulator-state.json", dir);
	/* --state only when a step asks to keep it: the emulator then saves on
	 * SIGTERM and restores on start (a graceful restart). */
	char *argv[] = {(char *)c->o->emulator_bin,
			"--config",
			cfg,
			"--events",
			"-",
			"--keylog",
			keylog,
			NULL,
			NULL,
			NULL};
	if (uses_state(c)) {
		argv[7] = "--state";
		argv[8] = state;
	}
	c->dtls_addr[0] = c->tls_addr[0] = '\0';
	if (har_proc_spawn(&c->emu, "emulator", argv, out, err, 0, why, sizeof(why)) != 0) {
		har_ctx_failf(c, "%s (use --emulator PATH)", why);
		return -1;
	}
	int r = har_ctx_wait(c, lh_time_mono_ms() + lh_time_real_ms(LISTEN_TIMEOUT_MS),
			     have_dtls_addr, NULL);
	if (r == 0)
		har_ctx_failf(c,
			      "the emulator printed no \"listening\" event with proto \"%s\" "
			      "within %d ms; see %s",
			      c->dtls_addr[0] ? "tls" : "dtls", LISTEN_TIMEOUT_MS, err);
	if (r != 1)
		return -1;
	keep_port(c);
	return 0;
}

/* Stops the emulator on purpose (SIGTERM, or SIGKILL at once) and keeps
 * what it printed last. Returns -1 if it did not end cleanly (c->fail). */
static int stop(struct har_ctx *c, int hard)
{
	char status[96];
	c->emu.expected_exit = 1;
	if (c->emu.pid > 0 && !c->emu.reaped && hard)
		kill(-c->emu.pid, SIGKILL);
	har_proc_stop(&c->emu, har_emulator_grace_ms(c));
	har_ctx_drain(c, &c->emu);
	har_proc_status_text(&c->emu, status, sizeof(status));
	/* SIGTERM asks for a clean exit (0); SIGKILL is the one expected death. */
	int unclean = har_ctx_check_exit(c, &c->emu, hard ? SIGKILL : 0,
					 hard ? "did not die by SIGKILL cleanly:"
					      : "did not end cleanly after SIGTERM:");
	har_proc_release(&c->emu);
	har_timeline_note(
	    &c->tl, "emulator_stopped",
	    json_pack("{s:s, s:s}", "how", hard ? "SIGKILL" : "SIGTERM", "status", status));
	return unclean;
}

/* Starts it again; the relay now forwards to its (same) DTLS address.
 * Without keep_state the saved state is deleted first: a cold start. */
static int start_again(struct har_ctx *c, int keep_state)
{
	char err[256], state[1100];
	struct stat st;
	if (c->emu.pid > 0 && !c->emu.reaped) {
		har_ctx_failf(c, "the emulator is already running");
		return -1;
	}
	snprintf(state, sizeof(state), "%s/emulator-state.json", c->o->out_dir);
	if (!keep_state && unlink(state) != 0 && errno != ENOENT) {
		har_ctx_failf(c, "cannot remove %s: %s", state, strerror(errno));
		return -1;
	}
	int have = stat(state, &st) == 0;
	har_timeline_note(&c->tl, "emulator_state",
			  json_pack("{s:b, s:b, s:I}", "keep_state", keep_state, "file_present",
				    have, "bytes", have ? (json_int_t)st.st_size : (json_int_t)0));
	if (keep_state && !have) {
		har_ctx_failf(c, "keep_state: the emulator saved no state in %s", state);
		return -1;
	}
	if (har_emulator_start(c, ++c->emu_generation) != 0)
		return -1;
	if (har_netsim_set_server(&c->ns, c->dtls_addr, err, sizeof(err)) != 0) {
		har_ctx_failf(c, "%s", err);
		return -1;
	}
	return 0;
}

/* Connects to the control socket. Returns the fd or -1 (c->fail set). */
static int ctl_connect(struct har_ctx *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->emu_ctl_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		har_ctx_failf(c, "cannot connect to the emulator's control socket %s: %s",
			      c->emu_ctl_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

struct ctl_read {
	int fd;
	size_t len;
	char buf[CTL_REPLY_MAX];
	int done; /* 1 line complete, -1 closed */
};

/* Stop condition: a whole reply line arrived on the control socket (read
 * while the emulator's events keep being drained, so it never blocks). */
static int ctl_line(struct har_ctx *c, void *arg)
{
	struct ctl_read *r = arg;
	(void)c;
	while (!r->done && r->len < sizeof(r->buf) - 1) {
		ssize_t n = read(r->fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
		if (n <= 0) {
			r->done = n == 0 ? -1 : 0;
			break;
		}
		r->len += (size_t)n;
		r->buf[r->len] = '\0';
		char *nl = strchr(r->buf, '\n');
		if (nl) {
			*nl = '\0';
			r->done = 1;
		}
	}
	return r->done != 0;
}

/* Sends one control command and checks its reply (default: ok true). */
static int ctl_step(struct har_ctx *c, const json_t *item)
{
	int ret = -1, fd = -1;
	const json_t *tmo = json_object_get(item, "timeout_ms");
	const json_t *want = json_object_get(item, "expect");
	json_t *cmd = json_deep_copy(json_object_get(json_object_get(item, "emulator"), "ctl"));
	json_t *reply = NULL, *dflt = json_pack("{s:b}", "ok", 1);
	struct ctl_read *r = calloc(1, sizeof(*r));
	char *line = NULL, why[512];
	json_object_set_new(cmd, "id", json_integer(++c->next_id));
	line = json_dumps(cmd, JSON_COMPACT);
	har_timeline_note(&c->tl, "control", json_pack("{s:O}", "command", cmd));
	if (!r || !line || (fd = ctl_connect(c)) < 0)
		goto exit;
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || write(fd, "\n", 1) != 1) {
		har_ctx_failf(c, "cannot write to the control socket: %s", strerror(errno));
		goto exit;
	}
	r->fd = fd;
	c->watch_fd = fd;
	int64_t end =
	    lh_time_mono_ms() + (tmo ? json_integer_value(tmo) : lh_time_real_ms(CTL_TIMEOUT_MS));
	if (har_ctx_wait(c, end, ctl_line, r) != 1 || r->done != 1) {
		if (!c->fail)
			har_ctx_failf(c, "no reply on the control socket%s",
				      r->done < 0 ? " (closed)" : "");
		goto exit;
	}
	reply = json_loads(r->buf, 0, NULL);
	har_timeline_note(
	    &c->tl, "control_reply",
	    json_pack("{s:o}", "reply", reply ? json_incref(reply) : json_string(r->buf)));
	if (!want)
		want = dflt;
	if (!har_match_explain(want, reply, why, sizeof(why))) {
		ret = 0;
		goto exit;
	}
	char *wtext = json_dumps(want, JSON_COMPACT);
	har_ctx_failf(c, "expected the control reply to match %s, but %s; the reply was %s",
		      wtext ? wtext : "?", why, r->buf);
	free(wtext);
exit:
	c->watch_fd = -1;
	if (fd >= 0)
		close(fd);
	free(r);
	free(line);
	json_decref(cmd);
	json_decref(reply);
	json_decref(dflt);
	return ret;
}

int har_emulator_runtime_vars(struct har_ctx *c)
{
	char cfg[1100];
	json_t *item;
	int ret;
	if (!har_vars_has_runtime(c->sc->emulator))
		return 0;
	snprintf(cfg, sizeof(cfg), "%s/emulator.json", c->o->out_dir);
	if (write_config(c, cfg) != 0)
		return -1;
	item = json_pack("{s:{s:{s:s}}}", "emulator", "ctl", "cmd", "reload");
	ret = item ? ctl_step(c, item) : -1;
	json_decref(item);
	return ret;
}

/* Dispatches the emulator steps; each one is an action (resets the scope). */
int har_emulator_step(struct har_ctx *c, const json_t *item)
{
	const json_t *what = json_object_get(item, "emulator");
	const char *verb = json_string_value(what);
	c->action_mark = c->tl.n;
	if (!verb)
		return ctl_step(c, item);
	if (strcmp(verb, "stop") == 0 || strcmp(verb, "kill") == 0)
		return stop(c, verb[0] == 'k');
	/* An unclean stop is the failure: no new emulator to blur it. */
	if (strcmp(verb, "restart") == 0 && stop(c, 0) != 0)
		return -1;
	return start_again(c, json_is_true(json_object_get(item, "keep_state")));
}

/* One name per worker, so that the parent can clean up after a worker it
 * had to kill (an interrupted run). */
void har_emulator_ctl_path(int worker_pid, char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/lwm2m-harness-%d.ctl", worker_pid);
}

/* The control socket lives in /tmp (path length limit): never leave it behind. */
void har_emulator_cleanup(struct har_ctx *c)
{
	if (c->emu_ctl_path[0])
		unlink(c->emu_ctl_path);
}
