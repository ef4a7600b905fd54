#include "har_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lh_time.h"

/* Reads per har_proc_read call, and the most of a stdout copied to its log. */
#define READ_ROUNDS 16
#define LOG_MAX (64u << 20)

/* Runs in the child between fork and exec: only async-signal-safe calls.
 * Reports an exec failure's errno through the close-on-exec pipe. */
static void child_exec(char *const argv[], int in_fd, int out_fd, int err_fd, int report_fd,
		       pid_t parent)
{
	int e;
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The parent may have died before the line above took effect. */
	if (getppid() != parent)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((in_fd >= 0 && dup2(in_fd, 0) < 0) || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		goto fail;
	if (in_fd < 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0)
			goto fail;
	}
	execv(argv[0], argv);
fail:
	e = errno;
	if (write(report_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Waits for the exec report: EOF means exec succeeded. */
static int exec_result(int report_fd)
{
	int e = 0;
	ssize_t n;
	do
		n = read(report_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	return n == sizeof(e) ? e : 0;
}

/* Closes an fd if open and marks it closed. */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Children get their own process group so the whole group can be killed. */
int har_proc_spawn(struct har_proc *p, const char *name, char *const argv[], const char *stdout_log,
		   const char *stderr_log, int want_stdin, char *err, size_t errlen)
{
	int ret = -1;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, rep[2] = {-1, -1}, errfd = -1;
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->in_fd = p->out_fd = -1;
	snprintf(p->err_log, sizeof(p->err_log), "%s", stderr_log);
	if (access(argv[0], X_OK) != 0) {
		snprintf(err, errlen, "cannot run the %s %s: %s", name, argv[0], strerror(errno));
		goto exit;
	}
	p->out_log = fopen(stdout_log, "w");
	errfd = open(stderr_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!p->out_log || errfd < 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0 ||
	    (want_stdin && pipe2(in, O_CLOEXEC) != 0)) {
		snprintf(err, errlen, "cannot set up the %s's logs/pipes: %s", name,
			 strerror(errno));
		goto exit;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork for the %s: %s", name, strerror(errno));
		goto exit;
	}
	if (pid == 0)
		child_exec(argv, in[0], out[1], errfd, rep[1], parent);
	setpgid(pid, pid);
	p->pid = pid;
	close_fd(&rep[1]);
	int e = exec_result(rep[0]);
	if (e != 0) {
		snprintf(err, errlen, "cannot execute the %s %s: %s", name, argv[0], strerror(e));
		har_proc_release(p);
		goto exit;
	}
	p->out_fd = out[0];
	out[0] = -1;
	p->in_fd = in[1];
	in[1] = -1;
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	if (p->in_fd >= 0)
		fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	ret = 0;
exit:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&rep[0]);
	close_fd(&rep[1]);
	close_fd(&errfd);
	if (ret != 0 && p->out_log) {
		fclose(p->out_log);
		p->out_log = NULL;
	}
	return ret;
}

/* Hands every complete line in the buffer to fn and keeps the remainder.
 * A line longer than the buffer is passed on cut, never dropped silently. */
static void split_lines(struct har_proc *p, har_proc_line_fn fn, void *ctx, int flush)
{
	size_t start = 0;
	for (size_t i = 0; i < p->len; i++) {
		if (p->buf[i] != '\n')
			continue;
		p->buf[i] = '\0';
		fn(ctx, p, p->buf + start);
		start = i + 1;
	}
	memmove(p->buf, p->buf + start, p->len - start);
	p->len -= start;
	if (p->len > 0 && (flush || p->len == sizeof(p->buf) - 1)) {
		p->buf[p->len] = '\0';
		fn(ctx, p, p->buf);
		p->len = 0;
	}
}

/* Non-blocking and bounded: the caller's deadlines always get their turn. */
int har_proc_read(struct har_proc *p, har_proc_line_fn fn, void *ctx)
{
	if (p->out_fd < 0)
		return 1;
	/* Bounded, so a process that never stops printing cannot starve the
	 * caller's deadlines. */
	for (int round = 0; round < READ_ROUNDS; round++) {
		ssize_t n = read(p->out_fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			split_lines(p, fn, ctx, 1);
			close_fd(&p->out_fd);
			return n == 0 ? 1 : -1;
		}
		if (p->out_log && p->logged < LOG_MAX) {
			fwrite(p->buf + p->len, 1, (size_t)n, p->out_log);
			p->logged += (size_t)n;
			if (p->logged >= LOG_MAX)
				fputs("\n[lwm2m-harness: log cut here, the process printed too "
				      "much]\n",
				      p->out_log);
			fflush(p->out_log);
		}
		p->len += (size_t)n;
		split_lines(p, fn, ctx, 0);
	}
	return 0;
}

/* Never blocks: a child that stops reading is an error, not a hang. */
int har_proc_send(struct har_proc *p, const char *line)
{
	int ret = -1;
	char *msg = NULL;
	size_t off = 0, len;
	if (p->in_fd < 0 || asprintf(&msg, "%s\n", line) < 0) {
		msg = NULL;
		goto exit;
	}
	len = strlen(msg);
	while (off < len) {
		ssize_t n = write(p->in_fd, msg + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto exit;
		off += (size_t)n;
	}
	ret = 0;
exit:
	free(msg);
	return ret;
}

/* Polls for an exit without blocking the event loop. */
int har_proc_check_exit(struct har_proc *p)
{
	if (p->reaped)
		return 1;
	if (p->pid <= 0)
		return 0;
	pid_t r = waitpid(p->pid, &p->status, WNOHANG);
	if (r == p->pid)
		p->reaped = 1;
	return p->reaped;
}

/* Sleeps a few milliseconds (deadline loops poll at this granularity). */
static void nap_ms(int ms)
{
	struct timespec ts = {0, (long)ms * 1000000L};
	nanosleep(&ts, NULL);
}

/* Always ends with SIGKILL to the group and a reap: nothing survives. */
void har_proc_stop(struct har_proc *p, int grace_ms)
{
	if (p->pid > 0) {
		if (!har_proc_check_exit(p)) {
			kill(-p->pid, SIGTERM);
			int64_t end = lh_time_mono_ms() + lh_time_real_ms(grace_ms);
			while (!har_proc_check_exit(p) && lh_time_mono_ms() < end)
				nap_ms(5);
		}
		/* The group may outlive its leader (a child it forked): kill it all. */
		kill(-p->pid, SIGKILL);
		if (!p->reaped && waitpid(p->pid, &p->status, 0) == p->pid)
			p->reaped = 1;
	}
	close_fd(&p->in_fd);
}

/* Stops if needed, then frees the pipes and the log. */
void har_proc_release(struct har_proc *p)
{
	har_proc_stop(p, 0);
	close_fd(&p->out_fd);
	if (p->out_log) {
		fclose(p->out_log);
		p->out_log = NULL;
	}
}

/* Exit statuses in words for failure messages. */
void har_proc_status_text(const struct har_proc *p, char *out, size_t size)
{
	if (!p->reaped)
		snprintf(out, size, "running");
	else if (WIFEXITED(p->status))
		snprintf(out, size, "exited with status %d", WEXITSTATUS(p->status));
	else if (WIFSIGNALED(p->status))
		snprintf(out, size, "killed by signal %d (%s)", WTERMSIG(p->status),
			 strsignal(WTERMSIG(p->status)));
	else
		snprintf(out, size, "stopped");
}
