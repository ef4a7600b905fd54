#ifndef HAR_CTX_H
#define HAR_CTX_H
#include <jansson.h>
#include <stdint.h>

#include "har_netsim.h"
#include "har_proc.h"
#include "har_run.h"
#include "har_timeline.h"

/* The state of one running scenario, shared by the runner (processes,
 * input) and the step executor (steps, expectations). Internal. */
struct har_ctx {
	const struct har_scenario *sc;
	const struct har_run_opts *o;
	struct har_timeline tl;
	struct har_proc emu;
	struct har_proc shim;
	struct har_netsim ns; /* the relay between shim and emulator */
	int ns_open;
	int64_t timeout_ms; /* the scenario's timeout_ms */
	int64_t deadline;   /* the scenario's deadline, monotonic ms */
	char dtls_addr[64]; /* from the emulator's listening event */
	char tls_addr[64];  /* the same for TLS/TCP, when the scenario uses it */
	int use_tls;	    /* client transport "tls" */
	json_t *reply;	    /* the reply being waited for, once it came */
	long waiting_id;    /* id of the command whose reply is awaited */
	long next_id;
	int watch_fd;	    /* another fd a wait should wake up for, or -1 */
	char lacks[256];    /* what the shim's layer declared it lacks */
	int garbage;	    /* lines that were not JSON objects */
	size_t action_mark; /* timeline size when the last action step began */
	int stopping;	    /* teardown: exits are expected now */
	int emu_dtls_port;  /* kept across restarts */
	int emu_tls_port;
	int shim_generation;	/* 0, then 1, 2, ... after each client reboot */
	int emu_generation;	/* 0, then 1, 2, ... after each restart */
	char emu_ctl_path[108]; /* its control socket */
	char *fail;		/* first failure message, or NULL */
	const char *fail_kind;	/* its type for junit.xml, or NULL */
	char *skip;		/* skip reason, or NULL */
	char *unreported;	/* a check the layer could not answer: skip if all else holds */
	char where[192];	/* "step 2 of 5 ($.steps[1], client connect)" */
	char timeline_path[1024];
};

/* Waits for input until ms_deadline (monotonic) or until stop(c, arg) is
 * true. Returns 1 if stop became true, 0 at the deadline, -1 when a process
 * died unexpectedly (c->fail is then set). */
int har_ctx_wait(struct har_ctx *c, int64_t ms_deadline, int (*stop)(struct har_ctx *, void *),
		 void *arg);
/* Sends a command to the shim and waits for its reply (c->reply). Returns 1
 * when it came, 0 on timeout, -1 on failure (c->fail set). */
int har_ctx_command(struct har_ctx *c, json_t *cmd, int timeout_ms);
/* Records the first failure: "<scenario>: <where>: <message>. Timeline: ...". */
void har_ctx_failf(struct har_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* har_ctx_failf with a failure type ("timeout", "sanitizer", ...). */
void har_ctx_failk(struct har_ctx *c, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Judges how p ended (expected_signal: a deliberate kill, else 0) and its
 * stderr for sanitizer reports; fails the scenario naming p and `when`
 * (or adds to an earlier failure). Once per process. Returns 0 if clean. */
int har_ctx_check_exit(struct har_ctx *c, struct har_proc *p, int expected_signal,
		       const char *when);
/* Handles one line a process printed (timeline, listening, replies). */
void har_ctx_on_line(void *ctx, struct har_proc *p, char *line);
/* Reads what a stopped process still had in its pipe. */
void har_ctx_drain(struct har_ctx *c, struct har_proc *p);
/* "Reboots" the device: closes (keeping the session), saves the shim's
 * resumption buffer to a file, kills
 * the shim, starts and configures a new one and loads the buffer into it
 * (the scenario then connects). Returns 0 or -1 (fail or skip set). */
int har_ctx_client_reboot(struct har_ctx *c);
/* Merges the object over into base, recursively for objects. */
void har_ctx_merge_config(json_t *base, const json_t *over);
/* The shim's configure object: the scenario's client config with over
 * (NULL: none) merged in, the relay as server and the keylog file. */
json_t *har_ctx_client_config(struct har_ctx *c, const json_t *over);
/* Runs the scenario's steps, then its final expectations. Returns 0 if all
 * held, -1 otherwise (c->fail or c->skip set). */
int har_steps_run(struct har_ctx *c);

#endif
