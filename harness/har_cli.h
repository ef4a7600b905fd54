#ifndef HAR_CLI_H
#define HAR_CLI_H
#include <stddef.h>
#include <stdint.h>

#define HAR_CLI_MAX_TAGS 32

/* The command line of lwm2m-harness, parsed and checked. */
struct har_cli {
	const char *command; /* "run", "lint", "list", "report" or "worker" (internal) */
	char **paths;	     /* scenario files/folders (default: "scenarios") */
	size_t npaths;
	const char *tags[HAR_CLI_MAX_TAGS];
	size_t ntags;
	const char *name_glob;
	int jobs;
	const char *layer;
	const char *results;
	uint64_t seed;
	int seed_given;
	int repeat;
	int shard_k, shard_n;
	char *emulator; /* program paths (malloc'd) */
	char *shim;
	char *catalogue; /* the default path when ./scenarios is absent (malloc'd) */
	const char *schema;
	const char *certs;  /* ${certs}: --certs, or NULL for <exe_dir>/../certs */
	char *schema_used;  /* the schema the scenarios were checked with (malloc'd) */
	int time_warp;	    /* --time-warp N, or 0 */
	char exe[4096];	    /* /proc/self/exe resolved */
	char exe_dir[4096]; /* folder of /proc/self/exe */
	int version;
};

/* Parses argv. Returns 0, 1 for --help, -1 on a usage error (printed). */
int har_cli_parse(struct har_cli *cli, int argc, char **argv);
/* Refuses missing or non-executable emulator/shim programs and a --layer
 * that does not exist, with what to pass instead. Returns 0 or -1. */
int har_cli_check_programs(const struct har_cli *cli);
/* The seed of one scenario run: --seed plus the repetition when given (so
 * a reported seed reproduces the run), else derived from the run's seed. */
uint64_t har_cli_item_seed(const struct har_cli *cli, const char *name, int repeat);
/* Frees what parsing allocated. */
void har_cli_free(struct har_cli *cli);

#endif
