#ifndef HAR_JOBS_H
#define HAR_JOBS_H
#include <stddef.h>

#include "har_results.h"
#include "har_run.h"

#define HAR_JOBS_WORKER_ARGS 16

/* Runs items in parallel, each in a worker process of its own (which owns
 * the scenario's emulator and shim), at most jobs at a time. */
struct har_jobs_opts {
	int jobs;
	int progress;			 /* draw a live progress line (a terminal) */
	const struct har_run_opts *base; /* binaries, layer, grace */
	int time_warp;			 /* --time-warp: overrides scenarios' time_warp; 0: none */
	/* A warped scenario's worker command: this program, "worker" and the
	 * options every worker needs (programs, layer, certs, schema). */
	const char *worker_argv[HAR_JOBS_WORKER_ARGS];
};

/* Runs one scenario in this process with its results folder and seed, and
 * writes dir/result.json. Returns 0, or -1 when that cannot be written. */
int har_jobs_run_one(const struct har_scenario *sc, const struct har_run_opts *base,
		     const char *dir, uint64_t seed);

/* Runs every item (item->dir and item->res.seed set by the caller), fills
 * item->res and prints one line per scenario as it finishes. A worker that
 * crashes or overruns its deadline is killed and its scenario fails.
 * SIGINT or SIGTERM stops the run: running workers are stopped (and their
 * emulator and shim with them), the items that did not finish get not_run,
 * and the signal's number is returned (0 when the run completed). */
int har_jobs_run(struct har_item *items, size_t n, const struct har_jobs_opts *o);

#endif
