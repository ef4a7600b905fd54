#include "har_jobs.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "har_emulator.h"
#include "lh_time.h"

/* Time a worker gets beyond its scenario's own deadline (teardown, logs). */
#define WORKER_SLACK_MS 30000
#define DEFAULT_SCENARIO_TIMEOUT_MS 60000
/* Time an interrupted worker gets to end on SIGTERM before SIGKILL. */
#define WORKER_STOP_MS 5000

struct slot {
	pid_t pid;
	size_t item;
	int64_t deadline;
	int killed;
};

struct counts {
	size_t done, passed, failed, skipped, running;
};

/* Set by SIGINT/SIGTERM during har_jobs_run: the signal's number. */
static volatile sig_atomic_t g_stop_signal;

/* Only records the signal: the loop stops the workers and reports. */
static void on_stop(int sig)
{
	g_stop_signal = sig;
}

/* Runs in the worker: the scenario, then its result as result.json. */
static void worker_main(struct har_item *it, const struct har_run_opts *base, pid_t parent)
{
	struct har_run_opts ro = *base;
	struct har_result res;
	char path[2048];
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The parent's handlers only set a flag: a worker told to stop stops
	 * (and its emulator and shim die with it: PR_SET_PDEATHSIG). */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (getppid() != parent)
		_exit(4);
	ro.out_dir = it->dir;
	ro.seed = it->res.seed;
	har_run_scenario(it->sc, &ro, &res);
	json_t *doc =
	    json_pack("{s:s, s:s?, s:f, s:I, s:s?}", "verdict", har_verdict_name(res.verdict),
		      "message", res.message, "duration_s", res.duration_s, "seed",
		      (json_int_t)res.seed, "failure_type", res.kind[0] ? res.kind : NULL);
	snprintf(path, sizeof(path), "%s/result.json", it->dir);
	int rc = doc ? json_dump_file(doc, path, JSON_INDENT(2)) : -1;
	json_decref(doc);
	free(res.message);
	_exit(rc == 0 ? 0 : 3);
}

/* Reads a worker's result.json into the item; a missing or broken one
 * means the worker died, which is a failure with the reason given. */
static void collect(struct har_item *it, const char *why_missing)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/result.json", it->dir);
	json_t *doc = json_load_file(path, 0, NULL);
	const char *v = json_string_value(json_object_get(doc, "verdict"));
	const char *msg = json_string_value(json_object_get(doc, "message"));
	const char *kind = json_string_value(json_object_get(doc, "failure_type"));
	snprintf(it->res.kind, sizeof(it->res.kind), "%s", kind ? kind : "");
	if (!v) {
		/* No result at all: the worker itself crashed or was killed. */
		snprintf(it->res.kind, sizeof(it->res.kind), "harness_worker");
		it->res.verdict = HAR_FAIL;
		if (asprintf(&it->res.message, "%s: %s; see %s", it->sc->name, why_missing,
			     it->dir) < 0)
			it->res.message = NULL;
		json_decref(doc);
		return;
	}
	it->res.verdict = strcmp(v, "pass") == 0   ? HAR_PASS
			  : strcmp(v, "skip") == 0 ? HAR_SKIP
						   : HAR_FAIL;
	it->res.message = msg ? strdup(msg) : NULL;
	it->res.duration_s = json_number_value(json_object_get(doc, "duration_s"));
	json_decref(doc);
}

/* Clears the live progress line so a verdict line can be printed. */
static void progress_clear(const struct har_jobs_opts *o)
{
	if (o->progress) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
	}
}

/* Draws "[3/10] 2 passed, 1 failed, 2 running, 12s" in place, only when
 * it changes (at most once a second for the clock). */
static void progress_draw(const struct har_jobs_opts *o, const struct counts *c, size_t n,
			  int64_t t0)
{
	static char last[160];
	char line[160];
	if (!o->progress)
		return;
	snprintf(line, sizeof(line),
		 "[%zu/%zu] %zu passed, %zu failed, %zu skipped, %zu running, %llds", c->done, n,
		 c->passed, c->failed, c->skipped, c->running,
		 (long long)((lh_time_mono_ms() - t0) / 1000));
	if (strcmp(line, last) == 0)
		return;
	snprintf(last, sizeof(last), "%s", line);
	printf("\r\033[K%s", line);
	fflush(stdout);
}

/* One line per scenario; a failure's message follows, indented. */
static void print_item(const struct har_item *it)
{
	const char *tag = it->res.verdict == HAR_PASS	? "PASS"
			  : it->res.verdict == HAR_SKIP ? "SKIP"
							: "FAIL";
	char rep[32] = "";
	if (it->repeat > 0)
		snprintf(rep, sizeof(rep), " #%d", it->repeat + 1);
	printf("%s %s%s (%s, %.2fs, seed %llu)\n", tag, it->sc->name, rep, it->sc->file,
	       it->res.duration_s, (unsigned long long)it->res.seed);
	if (it->res.message)
		printf("     %s\n", it->res.message);
	fflush(stdout);
}

/* Forks the worker for item i. Returns 0, or -1 (the item then fails). */
static int start(struct slot *s, struct har_item *items, size_t i, const struct har_jobs_opts *o)
{
	const json_t *t = json_object_get(items[i].sc->root, "timeout_ms");
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		items[i].res.verdict = HAR_FAIL;
		if (asprintf(&items[i].res.message, "%s: fork: %s", items[i].sc->name,
			     strerror(errno)) < 0)
			items[i].res.message = NULL;
		return -1;
	}
	if (pid == 0)
		worker_main(&items[i], o->base, parent);
	s->pid = pid;
	s->item = i;
	s->killed = 0;
	s->deadline = lh_time_mono_ms() + WORKER_SLACK_MS +
		      (t ? json_integer_value(t) : DEFAULT_SCENARIO_TIMEOUT_MS);
	return 0;
}

/* Records a finished worker's result and prints it. */
static void finish(struct slot *s, int status, struct har_item *items, struct counts *c,
		   const struct har_jobs_opts *o)
{
	char why[160];
	struct har_item *it = &items[s->item];
	if (s->killed)
		snprintf(why, sizeof(why),
			 "the scenario overran its deadline by %d ms and was "
			 "killed",
			 WORKER_SLACK_MS);
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "the harness worker crashed (signal %d, %s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(why, sizeof(why), "the harness worker exited with status %d and no result",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	collect(it, why);
	s->pid = 0;
	c->done++;
	c->running--;
	c->passed += it->res.verdict == HAR_PASS;
	c->failed += it->res.verdict == HAR_FAIL;
	c->skipped += it->res.verdict == HAR_SKIP;
	progress_clear(o);
	print_item(it);
}

/* Kills workers that are past their deadline (their children die with them). */
static void enforce_deadlines(struct slot *slots, int nslots)
{
	int64_t now = lh_time_mono_ms();
	for (int k = 0; k < nslots; k++) {
		if (slots[k].pid > 0 && !slots[k].killed && now > slots[k].deadline) {
			kill(slots[k].pid, SIGKILL);
			slots[k].killed = 1;
		}
	}
}

/* A killed worker's emulator (SIGKILLed with it) could not remove its
 * control socket: the parent does, if a socket is still there. */
static void remove_ctl_socket(pid_t worker)
{
	char path[108];
	struct stat st;
	har_emulator_ctl_path((int)worker, path, sizeof(path));
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
}

/* Interrupted: SIGTERM to every running worker, then SIGKILL to those
 * still there after WORKER_STOP_MS; reaps them all, so no scenario's
 * emulator or shim outlives the run. Their items are marked not run. */
static void stop_all(struct slot *slots, int nslots, struct har_item *items)
{
	int64_t kill_at = lh_time_mono_ms() + WORKER_STOP_MS;
	int left = 0;
	for (int k = 0; k < nslots; k++)
		if (slots[k].pid > 0 && kill(slots[k].pid, SIGTERM) == 0)
			left++;
	while (left > 0) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		for (int k = 0; pid > 0 && k < nslots; k++)
			if (slots[k].pid == pid) {
				/* One that finished just now keeps its verdict. */
				if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
					collect(&items[slots[k].item], "interrupted");
				else
					items[slots[k].item].not_run = 1;
				remove_ctl_socket(pid);
				slots[k].pid = 0;
				left--;
			}
		if (pid > 0)
			continue;
		if (pid < 0 && errno == ECHILD)
			break;
		if (lh_time_mono_ms() > kill_at)
			for (int k = 0; k < nslots; k++)
				if (slots[k].pid > 0)
					kill(slots[k].pid, SIGKILL);
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* Starts workers in free slots while items remain. */
static void fill_slots(struct slot *slots, int nslots, struct har_item *items, size_t n,
		       size_t *next, struct counts *c, const struct har_jobs_opts *o)
{
	for (int k = 0; k < nslots && *next < n && !g_stop_signal; k++) {
		if (slots[k].pid != 0)
			continue;
		if (start(&slots[k], items, *next, o) == 0) {
			c->running++;
		} else {
			c->done++;
			c->failed++;
			print_item(&items[*next]);
		}
		(*next)++;
	}
}

/* Installs (or, with old set, restores) the SIGINT/SIGTERM handlers. */
static void catch_stop(struct sigaction *old, int restore)
{
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	if (restore) {
		sigaction(SIGINT, &old[0], NULL);
		sigaction(SIGTERM, &old[1], NULL);
		return;
	}
	g_stop_signal = 0;
	sigaction(SIGINT, &sa, &old[0]);
	sigaction(SIGTERM, &sa, &old[1]);
}

/* Workers isolate scenarios from each other and from the harness: a crash
 * stays one failure. */
int har_jobs_run(struct har_item *items, size_t n, const struct har_jobs_opts *o)
{
	int nslots = o->jobs > 0 ? o->jobs : 1;
	struct slot *slots = calloc((size_t)nslots, sizeof(*slots));
	struct counts c = {0};
	struct sigaction old[2];
	size_t next = 0;
	int64_t t0 = lh_time_mono_ms();
	if (!slots)
		return 0;
	catch_stop(old, 0);
	while (c.done < n && !g_stop_signal) {
		fill_slots(slots, nslots, items, n, &next, &c, o);
		progress_draw(o, &c, n, t0);
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		for (int k = 0; pid > 0 && k < nslots; k++)
			if (slots[k].pid == pid)
				finish(&slots[k], status, items, &c, o);
		if (pid <= 0 && !g_stop_signal) {
			enforce_deadlines(slots, nslots);
			struct timespec ts = {0, 20 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	int sig = g_stop_signal;
	if (sig) {
		stop_all(slots, nslots, items);
		for (size_t i = next; i < n; i++)
			items[i].not_run = 1;
	}
	catch_stop(old, 1);
	progress_clear(o);
	free(slots);
	return sig;
}
