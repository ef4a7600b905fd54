#include "har_emucheck.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lh_time.h"

#define CHECK_TIMEOUT_MS 5000

/* Runs the emulator on the config file; collects what it printed on stderr.
 * Returns its wait status, or -1 if it could not be run or did not finish. */
static int run_check(const char *emulator, const char *path, char *out, size_t size)
{
	int fds[2], status = -1;
	size_t len = 0;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(fds[1], 2);
		execl(emulator, emulator, "--config", path, "--print-config", (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", emulator, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0)
		goto exit;
	int64_t deadline = lh_time_mono_ms() + lh_time_real_ms(CHECK_TIMEOUT_MS);
	for (;;) {
		int64_t left = deadline - lh_time_mono_ms();
		struct pollfd p = {fds[0], POLLIN, 0};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = read(fds[0], out + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == size - 1)
			break;
	}
	/* It prints and exits at once; one that hangs is stopped, not waited for. */
	pid_t done;
	while ((done = waitpid(pid, &status, WNOHANG)) == 0 && lh_time_mono_ms() < deadline)
		poll(NULL, 0, 2);
	if (done != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		status = -1;
	}
exit:
	out[len] = '\0';
	close(fds[0]);
	return status;
}

/* Turns "lwm2m-emulator: FILE: $.a.b: msg" lines into errors at "$.emulator.a.b". */
static void add_errors(const char *path, char *text, struct har_errs *errs)
{
	int added = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *p = strstr(line, path);
		p = p ? p + strlen(path) + 2 : line;
		if (p[0] == '$') {
			char *colon = strstr(p, ": ");
			if (colon) {
				char where[256];
				*colon = '\0';
				snprintf(where, sizeof(where), "$.emulator%s", p + 1);
				har_errs_add(errs, where, "%s", colon + 2);
				added++;
				continue;
			}
		}
		har_errs_add(errs, "$.emulator", "the emulator refused this config: %s", p);
		added++;
	}
	if (!added)
		har_errs_add(errs, "$.emulator", "the emulator refused this config (no message)");
}

int har_emucheck_config(const char *emulator, const json_t *config, struct har_errs *errs)
{
	char path[] = "/tmp/lwm2m-harness-emucheck-XXXXXX";
	char out[4096];
	int ret = -1, fd = mkstemp(path);
	if (fd < 0) {
		har_errs_add(errs, "$.emulator", "cannot write a temporary file: %s",
			     strerror(errno));
		return -1;
	}
	close(fd);
	if (json_dump_file(config, path, JSON_INDENT(2)) != 0) {
		har_errs_add(errs, "$.emulator", "cannot write %s", path);
		goto exit;
	}
	int status = run_check(emulator, path, out, sizeof(out));
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		ret = 0;
	} else if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 2) {
		add_errors(path, out, errs);
	} else {
		har_errs_add(errs, "$.emulator",
			     "could not check the config with %s (it did not exit 0 or 2): %s",
			     emulator, out[0] ? out : "no output");
	}
exit:
	unlink(path);
	return ret;
}
