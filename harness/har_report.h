#ifndef HAR_REPORT_H
#define HAR_REPORT_H
#include <stddef.h>

/* The HTML report of one run: <run_dir>/report.html, one self-contained
 * file (inline CSS, JS and SVG, nothing fetched) built only from what the
 * run folder holds (summary.json, each scenario's result.json and
 * timeline.jsonl), so any run folder can be rendered again later and a
 * folder with missing or corrupt files still renders, naming what is
 * missing. */

/* At most this many rows in one scenario's sequence diagram. */
#define HAR_REPORT_MAX_ROWS 300

/* Writes <run_dir>/report.html (atomically). Returns 0, or -1 with err
 * saying why (only when the file itself cannot be written). */
int har_report_write(const char *run_dir, char *err, size_t errlen);

#endif
