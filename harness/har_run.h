#ifndef HAR_RUN_H
#define HAR_RUN_H
#include <stdint.h>

#include "har_scenario.h"

/* Running one scenario: start the emulator and the shim, execute the steps,
 * check the expectations, always stop both, write the timeline. */
struct har_run_opts {
	const char *emulator_bin; /* lwm2m-emulator */
	const char *shim_bin;	  /* lwm2m-client-shim */
	const char *layer;	  /* --layer for the shim, overrides the scenario's; or NULL */
	const char *out_dir;	  /* this scenario's results folder (created) */
	uint64_t seed;		  /* network simulator seed */
	int grace_ms;		  /* SIGTERM to SIGKILL */
};

enum har_verdict { HAR_PASS, HAR_FAIL, HAR_SKIP };

struct har_result {
	enum har_verdict verdict;
	char *message;	   /* failure message or skip reason (malloc'd), or NULL */
	char kind[24];	   /* a failure's type: timeout, sanitizer, process_exit, failure */
	double duration_s; /* wall time */
	double scenario_s; /* scenario time: duration_s times the warp, about */
	int time_warp;	   /* 1, or the warp the scenario ran with */
	uint64_t seed;
};

/* Runs sc and fills res. Never hangs: every wait has a deadline, and both
 * process groups are killed and reaped before it returns. Returns 0 when it
 * produced a verdict (pass, fail or skip), -1 if it could not even start
 * (then res says why, as a failure). */
int har_run_scenario(const struct har_scenario *sc, const struct har_run_opts *o,
		     struct har_result *res);
/* Text of a verdict: "pass", "fail", "skip". */
const char *har_verdict_name(enum har_verdict v);

#endif
