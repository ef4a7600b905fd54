/* Unit tests for judging how a child ended: the sanitizer report scan of a
 * stderr log and the clean-exit rules (exit 0, or the deliberate signal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/har_exit.h"

/* A wait status as waitpid would report it (Linux encoding). */
#define EXITED(code) (((code)&0xff) << 8)
#define SIGNALED(sig) ((sig)&0x7f)

/* Writes text to a fresh temporary file; its path goes into path. */
static void write_log(char *path, size_t size, const char *text)
{
	snprintf(path, size, "/tmp/test_har_exit-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void finds_first_report_line(void **state)
{
	(void)state;
	char path[64], line[256];
	write_log(path, sizeof(path),
		  "lwm2m-emulator: starting\n"
		  "server/emu_x.c:12:5: runtime error: signed integer overflow\n"
		  "==42==ERROR: LeakSanitizer: detected memory leaks\n");
	assert_int_equal(har_exit_sanitizer_line(path, line, sizeof(line)), 1);
	assert_string_equal(line, "server/emu_x.c:12:5: runtime error: signed integer overflow");
	unlink(path);
	write_log(path, sizeof(path), "x\n==7==ERROR: AddressSanitizer: heap-use-after-free on\n");
	assert_int_equal(har_exit_sanitizer_line(path, line, sizeof(line)), 1);
	assert_string_equal(line, "==7==ERROR: AddressSanitizer: heap-use-after-free on");
	unlink(path);
}

static void clean_log_and_missing_log(void **state)
{
	(void)state;
	char path[64], line[64] = "junk";
	write_log(path, sizeof(path), "lwm2m-emulator: bye\nerror: no such identity\n");
	assert_int_equal(har_exit_sanitizer_line(path, line, sizeof(line)), 0);
	assert_string_equal(line, "");
	unlink(path);
	assert_int_equal(har_exit_sanitizer_line("/nonexistent/log", line, sizeof(line)), 0);
}

static void clean_exits(void **state)
{
	(void)state;
	char path[64], msg[512];
	write_log(path, sizeof(path), "");
	assert_int_equal(har_exit_judge(1, EXITED(0), 0, path, msg, sizeof(msg)), 0);
	assert_int_equal(har_exit_judge(1, SIGNALED(SIGKILL), SIGKILL, path, msg, sizeof(msg)), 0);
	assert_int_equal(har_exit_judge(1, EXITED(0), SIGKILL, path, msg, sizeof(msg)), 0);
	unlink(path);
}

static void unclean_exits(void **state)
{
	(void)state;
	char path[64], msg[512];
	write_log(path, sizeof(path), "");
	assert_int_equal(har_exit_judge(1, EXITED(86), 0, path, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "exited with status 86"));
	assert_int_equal(har_exit_judge(1, SIGNALED(SIGTERM), 0, path, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "signal 15"));
	assert_int_equal(har_exit_judge(1, SIGNALED(SIGSEGV), SIGKILL, path, msg, sizeof(msg)), -1);
	assert_int_equal(har_exit_judge(0, 0, 0, path, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "did not exit"));
	unlink(path);
}

/* A report fails even a zero exit (halt_on_error=0 builds keep going). */
static void report_fails_clean_status(void **state)
{
	(void)state;
	char path[64], msg[512];
	write_log(path, sizeof(path), "a.c:1:1: runtime error: shift exponent 40\n");
	assert_int_equal(har_exit_judge(1, EXITED(0), 0, path, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "first sanitizer report: a.c:1:1: runtime error"));
	assert_non_null(strstr(msg, path));
	assert_int_equal(har_exit_judge(1, SIGNALED(SIGKILL), SIGKILL, path, msg, sizeof(msg)), -1);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(finds_first_report_line),
	    cmocka_unit_test(clean_log_and_missing_log),
	    cmocka_unit_test(clean_exits),
	    cmocka_unit_test(unclean_exits),
	    cmocka_unit_test(report_fails_clean_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
