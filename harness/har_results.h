#ifndef HAR_RESULTS_H
#define HAR_RESULTS_H
#include <stddef.h>
#include <stdint.h>

#include "har_run.h"

/* One executed (or skipped) scenario run, as the reports list it. */
struct har_item {
	const struct har_scenario *sc;
	int repeat; /* 0-based repetition index */
	char *dir;  /* its results folder */
	struct har_result res;
	int not_run; /* the run was interrupted before this item finished */
};

/* Creates <results_dir>/<run-id> (run-id: UTC time and pid) and returns
 * the run id in run_id. Returns 0 or -1 (err says why). */
int har_results_make_run(const char *results_dir, char *run_id, size_t id_size, char *err,
			 size_t errlen);
/* Writes <run_dir>/summary.json ("interrupted" names the signal that cut
 * the run short, NULL when it completed). Returns 0 or -1. */
int har_results_write_summary(const char *run_dir, const char *run_id, uint64_t seed,
			      const struct har_item *items, size_t n, double duration_s,
			      const char *interrupted);
/* Writes <run_dir>/junit.xml: one testcase per item. Returns 0 or -1. */
int har_results_write_junit(const char *run_dir, const struct har_item *items, size_t n,
			    double duration_s);
/* Points <results_dir>/latest at run_id (atomically replaced). */
int har_results_link_latest(const char *results_dir, const char *run_id);
/* Escapes text for XML attributes and character data into a new string. */
char *har_results_xml_escape(const char *text);

#endif
