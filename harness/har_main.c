/* lwm2m-harness: runs JSON scenarios against lwm2m-emulator and
 * lwm2m-client-shim and reports verdicts (see harness/README.md). */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "har_certs.h"
#include "har_cli.h"
#include "har_emucheck.h"
#include "har_vars.h"
#include "har_jobs.h"
#include "har_report.h"
#include "har_results.h"
#include "har_scenario.h"
#include "har_schema.h"
#include "lh_time.h"

#define VERSION "0.1.0"

/* Prints usage to out (stdout for --help, stderr for mistakes). */
static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: lwm2m-harness run  [PATHS...] [options]   run scenarios (default PATH: "
	    "scenarios)\n"
	    "       lwm2m-harness lint PATHS...               validate scenario files only\n"
	    "       lwm2m-harness list [PATHS...] [--tag T] [--name GLOB]\n"
	    "       lwm2m-harness report RUN_DIR              write RUN_DIR/report.html again\n"
	    "options:\n"
	    "  --tag T          only scenarios with tag T (repeatable: any of them)\n"
	    "  --name GLOB      only scenarios whose name matches GLOB\n"
	    "  --jobs N         scenarios run in parallel (default 1)\n"
	    "  --layer SO       socket layer for the shim (overrides scenarios' client.layer)\n"
	    "  --results DIR    where runs are written (default: results)\n"
	    "  --seed N         seed of the network simulator (default: random, reported)\n"
	    "  --repeat N       run each selected scenario N times\n"
	    "  --shard K/N      run only the K-th of N slices of the selection (1 <= K <= N)\n"
	    "  --emulator PATH  lwm2m-emulator (default: next to lwm2m-harness)\n"
	    "  --shim PATH      lwm2m-client-shim (default: next to lwm2m-harness)\n"
	    "  --schema FILE    scenario schema (default: scenarios/schema.json found upwards,\n"
	    "                   else the installed one)\n"
	    "  --certs DIR      test PKI for ${certs} (default: the build's, <bin>/../certs;\n"
	    "                   make one with share/lwm2m-harness/certs/gen-pki.sh DIR)\n"
	    "  --time-warp N    run every selected scenario N times faster (1: in real time),\n"
	    "                   whatever its time_warp says (docs/time-warp.md)\n"
	    "exit status: 0 all passed (skips allowed), 1 failures, 2 usage or invalid "
	    "scenarios,\n"
	    "  130/143 interrupted by SIGINT/SIGTERM (reports list what finished; the rest "
	    "not run)\n");
}

/* Prints every error of one file as "FILE: PATH: message". */
static void print_errors(const char *file, const struct har_errs *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s: %s: %s\n", file, errs->v[i].path, errs->v[i].msg);
}

/* Two files with one name would share a results folder and confuse
 * reports: refused like any other invalid scenario. Returns how many. */
static int duplicate_names(const struct har_scenario *scs, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(scs[i].name, scs[j].name) == 0) {
				fprintf(
				    stderr,
				    "%s: $.name: \"%s\" is already the name of %s; scenario names "
				    "must be unique\n",
				    scs[i].file, scs[i].name, scs[j].file);
				bad++;
			}
	return bad;
}

/* Loads one scenario file, expands its variables and checks its emulator
 * config with the emulator itself; 0, or -1 with errs filled. */
static int load_one(const struct har_cli *cli, const json_t *schema, const char *file,
		    const char *certs_dir, struct har_scenario *sc, struct har_errs *errs)
{
	if (har_scenario_load(schema, file, sc, errs) != 0 ||
	    har_vars_expand(sc->emulator, "$.emulator", certs_dir, errs) != 0 ||
	    har_vars_expand(json_object_get(sc->root, "client"), "$.client", certs_dir, errs) !=
		0 ||
	    har_vars_expand(json_object_get(sc->root, "steps"), "$.steps", certs_dir, errs) != 0)
		return -1;
	return har_emucheck_config(cli->emulator, sc->emulator, errs) != 0 ? -1 : 0;
}

/* Loads the schema and every scenario under the paths; any invalid file
 * stops everything (exit status 2) before anything runs. */
static int load_all(struct har_cli *cli, struct har_scenario **out, size_t *nout)
{
	int ret = -1, bad = 0;
	struct har_errs errs = {0};
	char **files = NULL,
	     *schema_path = cli->schema ? strdup(cli->schema)
					: har_scenario_find_schema(cli->paths[0], cli->exe_dir);
	size_t nfiles = 0;
	json_t *schema = NULL;
	struct har_scenario *scs = NULL;
	if (har_scenario_collect(cli->paths, cli->npaths, &files, &nfiles, &errs) != 0) {
		print_errors("lwm2m-harness", &errs);
		goto exit;
	}
	if (!schema_path) {
		fprintf(stderr,
			"lwm2m-harness: cannot find scenarios/schema.json near %s; "
			"use --schema FILE\n",
			cli->paths[0]);
		goto exit;
	}
	if (!(schema = har_schema_load(schema_path, &errs))) {
		print_errors(schema_path, &errs);
		goto exit;
	}
	free(cli->schema_used);
	cli->schema_used = strdup(schema_path); /* warped workers check with the same */
	/* ${certs}: --certs, the build's PKI, or an installed harness's own. */
	char certs_dir[4096];
	if (har_certs_dir(cli->certs, cli->exe_dir, certs_dir, sizeof(certs_dir)) < 0)
		goto exit;
	scs = calloc(nfiles ? nfiles : 1, sizeof(*scs));
	for (size_t i = 0; scs && i < nfiles; i++) {
		har_errs_free(&errs);
		if (load_one(cli, schema, files[i], certs_dir, &scs[i], &errs) != 0) {
			print_errors(files[i], &errs);
			bad++;
		}
	}
	if (scs && !bad)
		bad = duplicate_names(scs, nfiles);
	if (bad)
		fprintf(stderr,
			"lwm2m-harness: %d of %zu scenario files are invalid; nothing was run\n",
			bad, nfiles);
	ret = bad || !scs ? -1 : 0;
	*out = scs;
	*nout = nfiles;
	scs = NULL;
exit:
	free(scs);
	har_errs_free(&errs);
	har_scenario_files_free(files, nfiles);
	json_decref(schema);
	free(schema_path);
	return ret;
}

/* True when a scenario passes the --tag / --name filters. */
static int selected(const struct har_cli *cli, const struct har_scenario *sc)
{
	int tag_ok = cli->ntags == 0;
	for (size_t i = 0; i < cli->ntags && !tag_ok; i++)
		tag_ok = har_scenario_has_tag(sc, cli->tags[i]);
	return tag_ok && (!cli->name_glob || fnmatch(cli->name_glob, sc->name, 0) == 0);
}

/* qsort_r order of scenario indices: by name. */
static int by_name(const void *a, const void *b, void *arg)
{
	const struct har_scenario *scs = arg;
	return strcmp(scs[*(const size_t *)a].name, scs[*(const size_t *)b].name);
}

/* keep[i]: scenario i is selected (--tag, --name) and in this shard: the
 * selection sorted by name, every N-th from the K-th, so a shard's share
 * depends neither on file order nor on how the paths were given, and the
 * N shards are disjoint and cover the selection. Returns keep or NULL. */
static char *shard_marks(const struct har_cli *cli, struct har_scenario *scs, size_t n)
{
	char *keep = calloc(n + 1, 1);
	size_t *idx = calloc(n + 1, sizeof(*idx)), nsel = 0;
	for (size_t i = 0; keep && idx && i < n; i++)
		if (selected(cli, &scs[i]))
			idx[nsel++] = i;
	if (keep && idx) {
		qsort_r(idx, nsel, sizeof(*idx), by_name, scs);
		for (size_t r = 0; r < nsel; r++)
			keep[idx[r]] = (int)(r % (size_t)cli->shard_n) == cli->shard_k - 1;
	}
	free(idx);
	if (!idx) {
		free(keep);
		return NULL;
	}
	return keep;
}

/* "lint": validation only. */
static int cmd_lint(struct har_cli *cli, struct har_scenario *scs, size_t n, int ok)
{
	(void)cli;
	for (size_t i = 0; ok && i < n; i++)
		printf("ok %s (%s)\n", scs[i].file, scs[i].name);
	printf("%zu scenario files checked%s\n", n, ok ? ", all valid" : ", some invalid");
	return ok ? 0 : 2;
}

/* "list": name, tags and file of each selected scenario (of the shard,
 * with --shard: what that CI job will run). */
static int cmd_list(struct har_cli *cli, struct har_scenario *scs, size_t n)
{
	char *keep = shard_marks(cli, scs, n);
	if (!keep)
		return 2;
	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		char *tags = json_dumps(json_object_get(scs[i].root, "tags"),
					JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%-40s %-30s %s\n", scs[i].name, tags ? tags : "[]", scs[i].file);
		free(tags);
	}
	free(keep);
	return 0;
}

/* Builds the run's items: filter, shard, repeat; seeds and folders. */
static struct har_item *plan(struct har_cli *cli, struct har_scenario *scs, size_t n,
			     const char *run_dir, size_t *nitems)
{
	struct har_item *items = calloc(n * (size_t)cli->repeat + 1, sizeof(*items));
	char *keep = shard_marks(cli, scs, n);
	size_t k = 0;
	for (size_t i = 0; items && keep && i < n; i++) {
		if (!keep[i])
			continue;
		for (int r = 0; r < cli->repeat; r++, k++) {
			items[k].sc = &scs[i];
			items[k].repeat = r;
			const json_t *pinned = json_object_get(scs[i].root, "seed");
			items[k].res.seed = pinned ? (uint64_t)json_integer_value(pinned)
						   : har_cli_item_seed(cli, scs[i].name, r);
			if (asprintf(&items[k].dir, r ? "%s/%s-r%d" : "%s/%s", run_dir, scs[i].name,
				     r + 1) < 0)
				items[k].dir = NULL;
		}
	}
	free(keep);
	*nitems = k;
	return items;
}

/* A shard of a non-empty selection may hold nothing (more CI jobs than
 * scenarios): that job passes with empty reports, so merging still works. */
static int shard_may_be_empty(const struct har_cli *cli, struct har_scenario *scs, size_t n)
{
	for (size_t i = 0; cli->shard_n > 1 && i < n; i++)
		if (selected(cli, &scs[i]))
			return 1;
	return 0;
}

/* Prints "N passed, N failed[, N skipped][, N not run (interrupted)]" and
 * returns the exit status: 128 + the signal when interrupted. */
static int final_line(const struct har_item *items, size_t n, int sig)
{
	size_t p = 0, f = 0, s = 0, nr = 0;
	for (size_t i = 0; i < n; i++) {
		nr += items[i].not_run;
		p += !items[i].not_run && items[i].res.verdict == HAR_PASS;
		f += !items[i].not_run && items[i].res.verdict == HAR_FAIL;
		s += !items[i].not_run && items[i].res.verdict == HAR_SKIP;
	}
	printf("%zu passed, %zu failed", p, f);
	if (s)
		printf(", %zu skipped", s);
	if (sig)
		printf(", %zu not run (interrupted by %s)", nr,
		       sig == SIGINT ? "SIGINT" : "SIGTERM");
	printf("\n");
	return sig ? 128 + sig : f ? 1 : 0;
}

/* Says up front what runs, when (in UTC, as the run id and every
 * timestamp the harness writes) and where the results go. */
static void print_start(const char *run_dir, size_t nitems, const struct har_cli *cli)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("started %s: %zu scenario run%s", stamp, nitems, nitems == 1 ? "" : "s");
	if (cli->shard_n > 1)
		printf(" (shard %d/%d)", cli->shard_k, cli->shard_n);
	printf(", %d at a time, results in %s\n", cli->jobs, run_dir);
	fflush(stdout);
}

/* The command line of a warped scenario's worker: this program with the
 * programs, layer, certificates and schema this run uses. */
static void worker_argv(const struct har_cli *cli, const char **argv)
{
	size_t n = 0;
	argv[n++] = cli->exe;
	argv[n++] = "worker";
	argv[n++] = "--emulator";
	argv[n++] = cli->emulator;
	argv[n++] = "--shim";
	argv[n++] = cli->shim;
	if (cli->layer) {
		argv[n++] = "--layer";
		argv[n++] = cli->layer;
	}
	if (cli->certs) {
		argv[n++] = "--certs";
		argv[n++] = cli->certs;
	}
	if (cli->schema_used) {
		argv[n++] = "--schema";
		argv[n++] = cli->schema_used;
	}
	argv[n] = NULL;
}

/* "worker" (internal): the one scenario a warped worker re-ran itself
 * with, under the faketime wrapper; its result.json goes to --results. It
 * dies with the wrapper, as a worker dies with the harness. */
static int cmd_worker(struct har_cli *cli, struct har_scenario *scs, size_t n)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (n != 1 || har_cli_check_programs(cli) != 0)
		return 2;
	struct har_run_opts ro = {cli->emulator, cli->shim, cli->layer, NULL, 0, 2000};
	return har_jobs_run_one(&scs[0], &ro, cli->results, cli->seed) == 0 ? 0 : 3;
}

/* "run": everything selected, then the reports. */
static int cmd_run(struct har_cli *cli, struct har_scenario *scs, size_t n)
{
	int ret = 2;
	char run_id[128], run_dir[PATH_MAX + 200], err[512];
	size_t nitems = 0;
	struct har_item *items = NULL;
	if (har_cli_check_programs(cli) != 0)
		return 2;
	if (har_results_make_run(cli->results, run_id, sizeof(run_id), err, sizeof(err)) != 0) {
		fprintf(stderr, "lwm2m-harness: %s (use --results DIR)\n", err);
		return 2;
	}
	snprintf(run_dir, sizeof(run_dir), "%s/%s", cli->results, run_id);
	items = plan(cli, scs, n, run_dir, &nitems);
	if (!items || (nitems == 0 && !shard_may_be_empty(cli, scs, n))) {
		fprintf(stderr, "lwm2m-harness: no scenario matches the selection\n");
		goto exit;
	}
	print_start(run_dir, nitems, cli);
	struct har_run_opts ro = {cli->emulator, cli->shim, cli->layer, NULL, 0, 2000};
	struct har_jobs_opts jo = {cli->jobs, isatty(STDOUT_FILENO), &ro, cli->time_warp, {NULL}};
	worker_argv(cli, jo.worker_argv);
	int64_t t0 = lh_time_mono_ms();
	int sig = har_jobs_run(items, nitems, &jo);
	double dur = (double)(lh_time_mono_ms() - t0) / 1000.0;
	const char *sig_name = !sig ? NULL : sig == SIGINT ? "SIGINT" : "SIGTERM";
	if (har_results_write_summary(run_dir, run_id, cli->seed, items, nitems, dur, sig_name) !=
		0 ||
	    har_results_write_junit(run_dir, items, nitems, dur) != 0 ||
	    har_results_link_latest(cli->results, run_id) != 0)
		fprintf(stderr, "lwm2m-harness: cannot write the reports in %s: %s\n", run_dir,
			strerror(errno));
	if (har_report_write(run_dir, err, sizeof(err)) != 0)
		fprintf(stderr, "lwm2m-harness: %s\n", err);
	printf("results: %s\nreport: %s/report.html\n", run_dir, run_dir);
	ret = final_line(items, nitems, sig);
exit:
	for (size_t i = 0; items && i < nitems; i++) {
		free(items[i].dir);
		free(items[i].res.message);
	}
	free(items);
	return ret;
}

/* "report": renders a run folder again (after a crash, or an older run). */
static int cmd_report(const char *run_dir)
{
	char err[512];
	struct stat st;
	if (stat(run_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "lwm2m-harness: %s is not a run folder (e.g. results/latest)\n",
			run_dir);
		return 2;
	}
	if (har_report_write(run_dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "lwm2m-harness: %s\n", err);
		return 1;
	}
	printf("report: %s/report.html\n", run_dir);
	return 0;
}

/* Validates every scenario before anything runs, then runs, reports, and exits 0/1/2. */
int main(int argc, char **argv)
{
	struct har_cli cli;
	struct har_scenario *scs = NULL;
	size_t n = 0;
	int ret = 2;
	signal(SIGPIPE, SIG_IGN);
	/* Orphans of a crashed worker come back to us rather than to init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	int rc = har_cli_parse(&cli, argc, argv);
	if (rc != 0) {
		if (rc > 0) {
			usage(stdout);
			ret = 0;
		} else {
			usage(stderr);
		}
		goto exit;
	}
	if (cli.version) {
		printf("lwm2m-harness %s\n", VERSION);
		ret = 0;
		goto exit;
	}
	if (strcmp(cli.command, "report") == 0) {
		ret = cmd_report(cli.paths[0]);
		goto exit;
	}
	int ok = load_all(&cli, &scs, &n) == 0;
	if (strcmp(cli.command, "lint") == 0)
		ret = cmd_lint(&cli, scs, n, ok);
	else if (!ok)
		ret = 2;
	else if (strcmp(cli.command, "list") == 0)
		ret = cmd_list(&cli, scs, n);
	else if (strcmp(cli.command, "worker") == 0)
		ret = cmd_worker(&cli, scs, n);
	else
		ret = cmd_run(&cli, scs, n);
exit:
	for (size_t i = 0; scs && i < n; i++)
		har_scenario_free(&scs[i]);
	free(scs);
	har_cli_free(&cli);
	return ret;
}
