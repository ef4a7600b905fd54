#ifndef HAR_SCENARIO_H
#define HAR_SCENARIO_H
#include <jansson.h>
#include <stddef.h>

#include "har_err.h"

/* The longest a scenario may take in wall time (its timeout_ms divided by
 * its time_warp). */
#define HAR_SCENARIO_WALL_MAX_MS 600000

/* One scenario file, validated against scenarios/schema.json and checked
 * further (matchers, referenced files) before anything runs. */
struct har_scenario {
	char *file;	  /* path as found */
	char *name;	  /* "name" */
	char *group;	  /* the folder it lives in ("handshake"), the JUnit class */
	json_t *root;	  /* the whole document */
	json_t *emulator; /* the emulator config object (inline or loaded) */
};

/* Expands paths (files, or folders searched recursively for *.json other
 * than schema.json) into a sorted list of files. Returns 0, or -1 with the
 * reason in errs (a path that does not exist). */
int har_scenario_collect(char *const *paths, size_t npaths, char ***files, size_t *nfiles,
			 struct har_errs *errs);
/* Frees a list from har_scenario_collect. */
void har_scenario_files_free(char **files, size_t n);
/* Finds schema.json: in a folder of the first path or one above it, else
 * the catalogue's (har_scenario_find_catalogue). Returns a
 * malloc'd path or NULL. */
char *har_scenario_find_schema(const char *first_path, const char *exe_dir);
/* The scenario catalogue (with its schema.json): the source tree next to
 * the program's build (<exe_dir>/../../scenarios), else an installed one
 * (<exe_dir>/../share/lwm2m-harness/scenarios), else the compiled-in
 * HAR_DATADIR/scenarios. Returns a malloc'd path, or NULL. */
char *har_scenario_find_catalogue(const char *exe_dir);
/* Loads and validates one file. Returns 0, or -1 with every problem in errs
 * (paths "$.steps[1].client", or "line L, column C" for JSON syntax). */
int har_scenario_load(const json_t *schema, const char *file, struct har_scenario *sc,
		      struct har_errs *errs);
/* True when the scenario has the tag. */
int har_scenario_has_tag(const struct har_scenario *sc, const char *tag);
/* The scenario's time warp: --time-warp (override > 0), else its
 * "time_warp", else 1. */
int har_scenario_time_warp(const struct har_scenario *sc, int override);
/* Frees what har_scenario_load allocated. */
void har_scenario_free(struct har_scenario *sc);

#endif
