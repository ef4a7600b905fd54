#include "har_cli.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "har_scenario.h"
#include "lh_time.h"

#define JOBS_MAX 256
#define REPEAT_MAX 10000

static char default_path[] = "scenarios";
static char *default_paths[] = {default_path};

/* Parses a whole decimal number in [min, max]. Returns 0 or -1. */
static int parse_long(const char *text, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "K/N" with 1 <= K <= N; says what is wrong otherwise. */
static int parse_shard(struct har_cli *cli, const char *text)
{
	int k, n, used = 0;
	if (sscanf(text, "%d/%d%n", &k, &n, &used) != 2 || text[used] || n < 1 || k < 1 || k > n) {
		fprintf(stderr, "lwm2m-harness: --shard wants K/N with 1 <= K <= N, got \"%s\"\n",
			text);
		return -1;
	}
	cli->shard_k = k;
	cli->shard_n = n;
	return 0;
}

/* splitmix64: a well-mixed 64-bit value from any input. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Defaults, including the programs next to this executable. */
static void set_defaults(struct har_cli *cli)
{
	memset(cli, 0, sizeof(*cli));
	cli->jobs = 1;
	cli->results = "results";
	cli->repeat = 1;
	cli->shard_k = cli->shard_n = 1;
	/* readlink does not terminate, and dirname works in place: copy back
	 * through a separate buffer (snprintf from its own target is undefined). */
	char exe[sizeof(cli->exe_dir)] = "";
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0) {
		snprintf(cli->exe_dir, sizeof(cli->exe_dir), ".");
		snprintf(cli->exe, sizeof(cli->exe), "lwm2m-harness");
	} else {
		exe[len] = '\0';
		snprintf(cli->exe, sizeof(cli->exe), "%s", exe);
		snprintf(cli->exe_dir, sizeof(cli->exe_dir), "%s", dirname(exe));
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	cli->seed = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid()) %
		    1000000000ULL;
}

/* Handles one option; returns 0, or -1 with a message printed. */
static int take_option(struct har_cli *cli, int opt, const char *arg)
{
	long long v;
	switch (opt) {
	case 't':
		if (cli->ntags == HAR_CLI_MAX_TAGS)
			goto bad;
		cli->tags[cli->ntags++] = arg;
		return 0;
	case 'n':
		cli->name_glob = arg;
		return 0;
	case 'j':
		if (parse_long(arg, 1, JOBS_MAX, &v) != 0)
			goto bad;
		cli->jobs = (int)v;
		return 0;
	case 'l':
		cli->layer = arg;
		return 0;
	case 'r':
		cli->results = arg;
		return 0;
	case 's':
		if (parse_long(arg, 0, INT64_MAX, &v) != 0)
			goto bad;
		cli->seed = (uint64_t)v;
		cli->seed_given = 1;
		return 0;
	case 'R':
		if (parse_long(arg, 1, REPEAT_MAX, &v) != 0)
			goto bad;
		cli->repeat = (int)v;
		return 0;
	case 'S':
		return parse_shard(cli, arg);
	case 'e':
		free(cli->emulator);
		cli->emulator = strdup(arg);
		return 0;
	case 'm':
		free(cli->shim);
		cli->shim = strdup(arg);
		return 0;
	case 'c':
		cli->schema = arg;
		return 0;
	case 'C':
		cli->certs = arg;
		return 0;
	case 'W':
		if (parse_long(arg, 1, LH_TIME_WARP_MAX, &v) != 0)
			goto bad;
		cli->time_warp = (int)v;
		return 0;
	}
	return -1;
bad:
	fprintf(stderr, "lwm2m-harness: invalid value \"%s\" for this option\n", arg);
	return -1;
}

/* The long options of every command (the short ones are -h and -V). */
/* clang-format off */
static const struct option longopts[] = {
    {"tag", required_argument, NULL, 't'},
    {"name", required_argument, NULL, 'n'},
    {"jobs", required_argument, NULL, 'j'},
    {"layer", required_argument, NULL, 'l'},
    {"results", required_argument, NULL, 'r'},
    {"seed", required_argument, NULL, 's'},
    {"repeat", required_argument, NULL, 'R'},
    {"shard", required_argument, NULL, 'S'},
    {"emulator", required_argument, NULL, 'e'},
    {"shim", required_argument, NULL, 'm'},
    {"schema", required_argument, NULL, 'c'},
    {"certs", required_argument, NULL, 'C'},
    {"time-warp", required_argument, NULL, 'W'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};
/* clang-format on */

/* Without paths: ./scenarios when there is one (a checkout), else the
 * catalogue the program came with (source tree or installed data dir). */
static void default_catalogue(struct har_cli *cli)
{
	struct stat st;
	if (stat(default_path, &st) == 0 && S_ISDIR(st.st_mode))
		return;
	cli->catalogue = har_scenario_find_catalogue(cli->exe_dir);
	if (cli->catalogue)
		cli->paths = &cli->catalogue;
}

/* lint wants paths, report exactly one run folder. Returns 0 or -1. */
static int check_positionals(const char *command, int npos)
{
	if (strcmp(command, "lint") == 0 && npos < 1) {
		fprintf(stderr,
			"lwm2m-harness: lint needs the scenario files or folders to check\n");
		return -1;
	}
	if (strcmp(command, "worker") == 0 && npos != 1) {
		fprintf(stderr,
			"lwm2m-harness: worker (internal) runs exactly one scenario file\n");
		return -1;
	}
	if (strcmp(command, "report") == 0 && npos != 1) {
		fprintf(stderr, "lwm2m-harness: report needs exactly one run folder "
				"(e.g. results/latest)\n");
		return -1;
	}
	return 0;
}

/* Parses and checks everything up front, so a run never starts half-configured. */
int har_cli_parse(struct har_cli *cli, int argc, char **argv)
{
	int opt;
	set_defaults(cli);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return 1;
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		cli->version = 1;
		return 0;
	}
	if (argc < 2 ||
	    (strcmp(argv[1], "run") && strcmp(argv[1], "lint") && strcmp(argv[1], "list") &&
	     strcmp(argv[1], "report") && strcmp(argv[1], "worker"))) {
		fprintf(stderr, "lwm2m-harness: expected a command: run, lint, list or report\n");
		return -1;
	}
	cli->command = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		if (opt == 'h')
			return 1;
		if (opt == 'V')
			cli->version = 1;
		else if (opt == '?' || take_option(cli, opt, optarg) != 0)
			return -1;
	}
	cli->paths = optind < argc ? argv + optind : default_paths;
	cli->npaths = optind < argc ? (size_t)(argc - optind) : 1;
	if (optind >= argc)
		default_catalogue(cli);
	if (check_positionals(cli->command, argc - optind) != 0)
		return -1;
	if (!cli->emulator && asprintf(&cli->emulator, "%s/lwm2m-emulator", cli->exe_dir) < 0)
		return -1;
	if (!cli->shim && asprintf(&cli->shim, "%s/lwm2m-client-shim", cli->exe_dir) < 0)
		return -1;
	return 0;
}

/* A missing program is a usage error for the whole run, said once, not per scenario. */
int har_cli_check_programs(const struct har_cli *cli)
{
	int ret = 0;
	if (access(cli->emulator, X_OK) != 0) {
		fprintf(stderr,
			"lwm2m-harness: cannot run the emulator %s: %s (build it, or use "
			"--emulator PATH)\n",
			cli->emulator, strerror(errno));
		ret = -1;
	}
	if (access(cli->shim, X_OK) != 0) {
		fprintf(stderr,
			"lwm2m-harness: cannot run the client shim %s: %s (build it, or use "
			"--shim PATH)\n",
			cli->shim, strerror(errno));
		ret = -1;
	}
	if (cli->layer && access(cli->layer, R_OK) != 0) {
		fprintf(stderr,
			"lwm2m-harness: cannot read the layer %s: %s (--layer wants the "
			"path of a socket-layer .so)\n",
			cli->layer, strerror(errno));
		ret = -1;
	}
	return ret;
}

/* Seeds are reported and reusable, so one failing run can be replayed. */
uint64_t har_cli_item_seed(const struct har_cli *cli, const char *name, int repeat)
{
	if (cli->seed_given)
		return cli->seed + (uint64_t)repeat;
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return mix64(cli->seed ^ h ^ (uint64_t)repeat) % 1000000000ULL;
}

/* Releases the program paths parsing allocated. */
void har_cli_free(struct har_cli *cli)
{
	free(cli->emulator);
	free(cli->shim);
	free(cli->catalogue);
	free(cli->schema_used);
	cli->emulator = cli->shim = cli->catalogue = cli->schema_used = NULL;
}
