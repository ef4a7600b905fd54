#ifndef HAR_EMULATOR_H
#define HAR_EMULATOR_H
#include <jansson.h>

#include "har_ctx.h"

/* The emulator's life inside a scenario: its config file, starting it and
 * learning its DTLS port, stopping/killing/restarting it on purpose, and
 * commands on its control socket. */

/* Writes the config and starts the emulator (generation 0 = the first
 * start; restarts reuse the DTLS port), then waits for its "listening"
 * event. Returns 0, or -1 (c->fail set). */
int har_emulator_start(struct har_ctx *c, int generation);
/* SIGTERM to SIGKILL for the emulator: the run's grace, and at least
 * HAR_EMULATOR_SAVE_GRACE_MS when it saves its state on SIGTERM. */
#define HAR_EMULATOR_SAVE_GRACE_MS 30000
int har_emulator_grace_ms(const struct har_ctx *c);
/* {"emulator": "stop"|"kill"|"start"|"restart"} or
 * {"emulator": {"ctl": {...}}, "expect": {...}, "timeout_ms": N}. */
int har_emulator_step(struct har_ctx *c, const json_t *item);
/* Once the network simulator is up: when the emulator's config names
 * ${server_addr} or ${server_uri}, writes it again with their values and
 * has the emulator reload it (before any client exists). Returns 0, or -1
 * (c->fail set). */
int har_emulator_runtime_vars(struct har_ctx *c);
/* Removes the control socket file. */
void har_emulator_cleanup(struct har_ctx *c);
/* The control socket path of the emulator run by the worker worker_pid. */
void har_emulator_ctl_path(int worker_pid, char *buf, size_t size);

#endif
