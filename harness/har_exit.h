#ifndef HAR_EXIT_H
#define HAR_EXIT_H
#include <stddef.h>

/* Judging how a child process ended: its exit status, and whether its
 * stderr log holds a sanitizer report (ASan, UBSan, LeakSanitizer). A report
 * or an unclean exit fails the scenario, so `make asan` has teeth. */

/* Finds the first sanitizer report line in the log file at path ("ERROR:
 * AddressSanitizer", "runtime error:", "LeakSanitizer", ...) and copies it,
 * trimmed, into out. Returns 1 if found, 0 if not (or the log is missing). */
int har_exit_sanitizer_line(const char *path, char *out, size_t size);
/* Judges a reaped process: a clean exit is status 0, or death by
 * expected_signal when that is not 0 (a deliberate SIGKILL). Any sanitizer
 * report in stderr_path fails it whatever the status. Returns 0 if clean,
 * else -1 with a sentence in msg ("exited with status 86 after SIGTERM;
 * first sanitizer report: ERROR: LeakSanitizer: ... (see PATH)"). */
int har_exit_judge(int reaped, int status, int expected_signal, const char *stderr_path, char *msg,
		   size_t size);

#endif
