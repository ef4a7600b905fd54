/* libFuzzer target: the harness's scenario loader (har_scenario_load: JSON
 * syntax, validation against the real scenarios/schema.json, emulator config
 * references, matcher and regex checks). The schema is loaded and checked
 * once; each input is written to a file in a private temporary folder, as
 * `lwm2m-harness lint` would read it. FUZZ_SCHEMA overrides the schema path. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "har_err.h"
#include "har_scenario.h"
#include "har_schema.h"

static json_t *g_schema;
static char g_dir[64], g_file[96];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Removes the temporary folder when the fuzzer exits. */
static void cleanup(void)
{
	unlink(g_file);
	rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct har_errs errs = {0};
	const char *schema = getenv("FUZZ_SCHEMA");
	(void)argc;
	(void)argv;
	g_schema = har_schema_load(schema ? schema : "scenarios/schema.json", &errs);
	snprintf(g_dir, sizeof(g_dir), "/tmp/fuzz-scenario.XXXXXX");
	if (!g_schema || !mkdtemp(g_dir)) {
		fprintf(stderr, "fuzz_scenario: cannot load scenarios/schema.json (%zu errors)\n",
			errs.n);
		abort();
	}
	snprintf(g_file, sizeof(g_file), "%s/scenario.json", g_dir);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct har_errs errs = {0};
	struct har_scenario sc;
	FILE *f = fopen(g_file, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	int rc = har_scenario_load(g_schema, g_file, &sc, &errs);
	/* A refusal must say why; an acceptance must say nothing. */
	if ((rc < 0) != (errs.n > 0))
		__builtin_trap();
	har_scenario_free(&sc);
	har_errs_free(&errs);
	return 0;
}
