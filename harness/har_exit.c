#include "har_exit.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* What the sanitizers print first in a report. ASan's is "==PID==ERROR:
 * AddressSanitizer: ..."; LeakSanitizer's "==PID==ERROR: LeakSanitizer:";
 * UBSan's "file:line:col: runtime error: ...". */
static const char *const MARKERS[] = {
    "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",	 "LeakSanitizer",
    "runtime error:",	       "ERROR: ThreadSanitizer", "WARNING: AddressSanitizer",
};

/* True when the line is the start of a sanitizer report. */
static int is_report(const char *line)
{
	for (size_t i = 0; i < sizeof(MARKERS) / sizeof(MARKERS[0]); i++)
		if (strstr(line, MARKERS[i]))
			return 1;
	return 0;
}

/* Line by line: reports follow other stderr output, not only at the end. */
int har_exit_sanitizer_line(const char *path, char *out, size_t size)
{
	char buf[1024];
	int found = 0;
	FILE *f = path ? fopen(path, "r") : NULL;
	if (size > 0)
		out[0] = '\0';
	if (!f)
		return 0;
	while (!found && fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (!is_report(buf))
			continue;
		snprintf(out, size, "%s", buf);
		found = 1;
	}
	fclose(f);
	return found;
}

/* True for the ways a process may end without it being a failure. */
static int clean_status(int status, int expected_signal)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 0;
	return expected_signal != 0 && WIFSIGNALED(status) && WTERMSIG(status) == expected_signal;
}

/* Both checks, one sentence: the status first, then the report's first line. */
int har_exit_judge(int reaped, int status, int expected_signal, const char *stderr_path, char *msg,
		   size_t size)
{
	char how[96], report[512];
	int has_report = har_exit_sanitizer_line(stderr_path, report, sizeof(report));
	if (!reaped)
		snprintf(how, sizeof(how), "did not exit");
	else if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "stopped");
	if (reaped && clean_status(status, expected_signal) && !has_report) {
		if (size > 0)
			msg[0] = '\0';
		return 0;
	}
	snprintf(msg, size, "%s%s%s (see %s)", how,
		 has_report ? "; first sanitizer report: " : ", which is not a clean exit",
		 has_report ? report : "", stderr_path ? stderr_path : "its stderr log");
	return -1;
}
