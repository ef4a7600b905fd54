#ifndef HAR_PROC_H
#define HAR_PROC_H
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define HAR_PROC_LINE_MAX 65536

/* A child process (emulator or shim) in its own process group, with its
 * stdout on a pipe (read line by line, copied raw to a log file), its stderr
 * straight into a log file and, optionally, its stdin on a pipe. */
struct har_proc {
	const char *name;
	pid_t pid;	    /* process (and group) id; 0 once reaped */
	int in_fd;	    /* write end of its stdin, or -1 */
	int out_fd;	    /* read end of its stdout, or -1 after EOF */
	FILE *out_log;	    /* raw copy of its stdout */
	int reaped;	    /* waitpid collected the status below */
	int expected_exit;  /* stopped on purpose: its exit is no failure */
	int status;	    /* waitpid status */
	int exit_checked;   /* its exit (and stderr) was judged already */
	char err_log[1024]; /* its stderr log file */
	size_t len;	    /* bytes pending in buf (an incomplete line) */
	size_t logged;	    /* bytes copied to out_log */
	char buf[HAR_PROC_LINE_MAX];
};

typedef void (*har_proc_line_fn)(void *ctx, struct har_proc *p, char *line);

/* Starts argv[0] with stdout piped (and stdin piped if want_stdin); stderr
 * and a copy of stdout go to the two log files. The child gets its own
 * process group and dies with the harness (PR_SET_PDEATHSIG). Returns 0, or
 * -1 with a reason in err (missing program, exec failure, ...). */
int har_proc_spawn(struct har_proc *p, const char *name, char *const argv[], const char *stdout_log,
		   const char *stderr_log, int want_stdin, char *err, size_t errlen);
/* Reads what is available on stdout and calls fn for each complete line.
 * Returns 1 at EOF (out_fd is then closed), 0 otherwise, -1 on error. */
int har_proc_read(struct har_proc *p, har_proc_line_fn fn, void *ctx);
/* Writes one line (a '\n' is added) to the child's stdin without blocking.
 * Returns 0, or -1 if the child is gone or not reading. */
int har_proc_send(struct har_proc *p, const char *line);
/* Collects the exit status if the child has exited. Returns 1 if reaped. */
int har_proc_check_exit(struct har_proc *p);
/* Stops the whole process group: SIGTERM, then SIGKILL after grace_ms, and
 * reaps the child; its stdout stays open so what it printed last can still be
 * read. Safe to call twice, and on a process never started. */
void har_proc_stop(struct har_proc *p, int grace_ms);
/* Stops the process if needed and closes its pipes and log. */
void har_proc_release(struct har_proc *p);
/* "exited with status 1", "killed by signal 9 (Killed)" or "running". */
void har_proc_status_text(const struct har_proc *p, char *out, size_t size);

#endif
