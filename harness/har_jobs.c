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
/* The progress line stays within a wide terminal's line. */
#define PROGRESS_MAX 200

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

/* Writes res as dir/result.json, what the parent collects. Returns 0 or -1. */
static int write_result(const char *dir, const struct har_result *res)
{
	char path[2048];
	json_t *doc =
	    json_pack("{s:s, s:s?, s:f, s:I, s:s?}", "verdict", har_verdict_name(res->verdict),
		      "message", res->message, "duration_s", res->duration_s, "seed",
		      (json_int_t)res->seed, "failure_type", res->kind[0] ? res->kind : NULL);
	if (doc && res->time_warp > 1) {
		json_object_set_new(doc, "time_warp", json_integer(res->time_warp));
		json_object_set_new(doc, "scenario_time_s",
				    json_real(har_results_round_us(res->scenario_s)));
	}
	snprintf(path, sizeof(path), "%s/result.json", dir);
	int rc = doc ? json_dump_file(doc, path, JSON_INDENT(2) | HAR_RESULTS_REAL) : -1;
	json_decref(doc);
	return rc;
}

/* One scenario, its result written where the parent looks: shared by the
 * forked worker and the re-executed warped one, so both report alike. */
int har_jobs_run_one(const struct har_scenario *sc, const struct har_run_opts *base,
		     const char *dir, uint64_t seed)
{
	struct har_run_opts ro = *base;
	struct har_result res;
	ro.out_dir = dir;
	ro.seed = seed;
	har_run_scenario(sc, &ro, &res);
	res.duration_s = har_results_round_us(res.duration_s);
	int rc = write_result(dir, &res);
	free(res.message);
	return rc;
}

/* The faketime wrapper could not be started: the scenario is skipped,
 * saying what to install (like any test whose tool is absent). */
static void warp_unavailable(struct har_item *it, int warp, int err)
{
	struct har_result res = {.verdict = HAR_SKIP, .seed = it->res.seed};
	if (asprintf(&res.message,
		     "%s: time_warp %d needs the faketime program (Debian package faketime, "
		     "`make deps`): %s",
		     it->sc->name, warp, strerror(err)) < 0)
		res.message = NULL;
	mkdir(it->dir, 0755);
	write_result(it->dir, &res);
	free(res.message);
}

/* A sanitizer build (make asan) refuses to start when another library is
 * preloaded before its runtime, and libfaketime must be: told to allow it
 * (its interceptors then wrap libfaketime's, which wrap libc's). Ignored by
 * programs without ASan. */
static void asan_after_preload(void)
{
	const char *old = getenv("ASAN_OPTIONS");
	char *opts = NULL;
	if (asprintf(&opts, "%s%sverify_asan_link_order=0", old ? old : "",
		     old && *old ? ":" : "") < 0)
		return;
	setenv("ASAN_OPTIONS", opts, 1);
	free(opts);
}

/* A warped scenario runs in a new worker under the faketime wrapper, so the
 * worker (its waits, its network simulator), the emulator and the shim all
 * read one libfaketime clock: the wrapper's shared memory gives every
 * process the same origin, and the event stamps stay comparable. */
static void exec_warped(struct har_item *it, const struct har_jobs_opts *o, int warp)
{
	char rate[32], wtxt[16], seed[32];
	const char *argv[HAR_JOBS_WORKER_ARGS + 16];
	size_t n = 0;
	snprintf(rate, sizeof(rate), "+0 x%d", warp);
	snprintf(wtxt, sizeof(wtxt), "%d", warp);
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)it->res.seed);
	argv[n++] = "faketime";
	argv[n++] = "-f";
	argv[n++] = rate;
	for (size_t k = 0; k < HAR_JOBS_WORKER_ARGS && o->worker_argv[k]; k++)
		argv[n++] = o->worker_argv[k];
	const char *tail[] = {"--results",   it->dir, "--seed", seed,
			      "--time-warp", wtxt,    "--",	it->sc->file};
	for (size_t k = 0; k < sizeof(tail) / sizeof(tail[0]); k++)
		argv[n++] = tail[k];
	argv[n] = NULL;
	setenv(LH_TIME_WARP_ENV, wtxt, 1);
	asan_after_preload();
	execvp(argv[0], (char *const *)argv);
	warp_unavailable(it, warp, errno);
	_exit(0);
}

/* Runs in the worker: the scenario, then its result as result.json. */
static void worker_main(struct har_item *it, const struct har_jobs_opts *o, pid_t parent)
{
	int warp = har_scenario_time_warp(it->sc, o->time_warp);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The parent's handlers only set a flag: a worker told to stop stops
	 * (and its emulator and shim die with it: PR_SET_PDEATHSIG). */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (getppid() != parent)
		_exit(4);
	if (warp > 1)
		exec_warped(it, o, warp);
	unsetenv(LH_TIME_WARP_ENV);
	_exit(har_jobs_run_one(it->sc, o->base, it->dir, it->res.seed) == 0 ? 0 : 3);
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
	it->res.time_warp = (int)json_integer_value(json_object_get(doc, "time_warp"));
	it->res.scenario_s = json_number_value(json_object_get(doc, "scenario_time_s"));
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

/* Appends the names of the running scenarios to line (as many as fit, then
 * "..."), so a slow or stuck one is named while it runs. */
static void running_names(char *line, size_t size, const struct slot *slots, int nslots,
			  const struct har_item *items)
{
	const char *sep = ": ";
	for (int k = 0; k < nslots; k++) {
		size_t len = strlen(line);
		if (slots[k].pid <= 0)
			continue;
		const char *name = items[slots[k].item].sc->name;
		if (len + strlen(sep) + strlen(name) + 5 >= size) {
			snprintf(line + len, size - len, "%s...", sep);
			return;
		}
		snprintf(line + len, size - len, "%s%s", sep, name);
		sep = ", ";
	}
}

/* Draws "[3/10] 2 passed, 1 failed, 0 skipped, 12s, 2 running: a, b" in
 * place, only when it changes (at most once a second for the clock). */
static void progress_draw(const struct har_jobs_opts *o, const struct counts *c, size_t n,
			  int64_t t0, const struct slot *slots, int nslots,
			  const struct har_item *items)
{
	static char last[PROGRESS_MAX];
	char line[PROGRESS_MAX];
	if (!o->progress)
		return;
	snprintf(line, sizeof(line),
		 "[%zu/%zu] %zu passed, %zu failed, %zu skipped, %llds, %zu running", c->done, n,
		 c->passed, c->failed, c->skipped, (long long)((lh_time_mono_ms() - t0) / 1000),
		 c->running);
	running_names(line, sizeof(line), slots, nslots, items);
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
	char rep[32] = "", warp[64] = "";
	if (it->repeat > 0)
		snprintf(rep, sizeof(rep), " #%d", it->repeat + 1);
	if (it->res.time_warp > 1)
		snprintf(warp, sizeof(warp), " = %.0fs at time warp %d", it->res.scenario_s,
			 it->res.time_warp);
	printf("%s %s%s (%s, %.2fs%s, seed %llu)\n", tag, it->sc->name, rep, it->sc->file,
	       it->res.duration_s, warp, (unsigned long long)it->res.seed);
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
		worker_main(&items[i], o, parent);
	s->pid = pid;
	s->item = i;
	s->killed = 0;
	/* The parent's clock is never warped: the deadline is wall time. */
	s->deadline = lh_time_mono_ms() + WORKER_SLACK_MS +
		      (t ? json_integer_value(t) : DEFAULT_SCENARIO_TIMEOUT_MS) /
			  har_scenario_time_warp(items[i].sc, o->time_warp);
	return 0;
}

/* A killed worker's emulator (SIGKILLed with it) could not remove its
 * control socket: the parent does, if a socket is still there. A killed
 * warped worker (the faketime wrapper, same pid) leaves its shared memory
 * and semaphore, named by that pid: a later wrapper with the same pid
 * would refuse to start, so they go too. */
static void remove_leftovers(pid_t worker)
{
	char path[108];
	struct stat st;
	har_emulator_ctl_path((int)worker, path, sizeof(path));
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	snprintf(path, sizeof(path), "/dev/shm/faketime_shm_%d", (int)worker);
	unlink(path);
	snprintf(path, sizeof(path), "/dev/shm/sem.faketime_sem_%d", (int)worker);
	unlink(path);
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
	if (s->killed)
		remove_leftovers(s->pid);
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
				remove_leftovers(pid);
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
		progress_draw(o, &c, n, t0, slots, nslots, items);
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
