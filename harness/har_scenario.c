#include "har_scenario.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "har_match.h"
#include "har_schema.h"

/* The installed data dir; the Makefile passes make install's (PREFIX). */
#ifndef HAR_DATADIR
#define HAR_DATADIR "/usr/local/share/lwm2m-harness"
#endif

struct str_list {
	char **v;
	size_t n;
	size_t cap;
};

/* Appends a copy of s. */
static int list_push(struct str_list *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(s)))
		return -1;
	l->n++;
	return 0;
}

/* True for "x.json" other than the schema itself. */
static int is_scenario_name(const char *name)
{
	size_t len = strlen(name);
	return len > 5 && strcmp(name + len - 5, ".json") == 0 && strcmp(name, "schema.json") != 0;
}

/* Walks a folder recursively (hidden entries skipped). */
static int collect_dir(const char *dir, struct str_list *out, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];
	struct stat st;
	if (!d || depth > 16)
		return d ? closedir(d), 0 : -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			collect_dir(path, out, depth + 1);
		else if (S_ISREG(st.st_mode) && is_scenario_name(de->d_name))
			list_push(out, path);
	}
	closedir(d);
	return 0;
}

/* Sort by path so runs and listings are in a stable order. */
static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A folder means every scenario below it, in a stable order. */
int har_scenario_collect(char *const *paths, size_t npaths, char ***files, size_t *nfiles,
			 struct har_errs *errs)
{
	struct str_list l = {0};
	struct stat st;
	int ret = 0;
	for (size_t i = 0; i < npaths; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s", paths[i]);
		size_t len = strlen(p);
		while (len > 1 && p[len - 1] == '/')
			p[--len] = '\0';
		if (stat(p, &st) != 0) {
			har_errs_add(errs, p, "%s (expected a scenario file or a folder of them)",
				     strerror(errno));
			ret = -1;
		} else if (S_ISDIR(st.st_mode)) {
			collect_dir(p, &l, 0);
		} else {
			list_push(&l, p);
		}
	}
	qsort(l.v, l.n, sizeof(*l.v), str_cmp);
	*files = l.v;
	*nfiles = l.n;
	return ret;
}

/* Frees the list har_scenario_collect built. */
void har_scenario_files_free(char **files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
}

/* True when path is a readable regular file. */
static int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The schema next to the scenarios wins, so a checkout validates itself. */
char *har_scenario_find_schema(const char *first_path, const char *exe_dir)
{
	char dir[PATH_MAX], cand[PATH_MAX + 32];
	struct stat st;
	snprintf(dir, sizeof(dir), "%s", first_path ? first_path : ".");
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "%s", dir);
		snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	}
	for (int up = 0; up < 8; up++) {
		snprintf(cand, sizeof(cand), "%s/schema.json", dir);
		if (file_exists(cand))
			return strdup(cand);
		snprintf(cand, sizeof(cand), "%s/scenarios/schema.json", dir);
		if (file_exists(cand))
			return strdup(cand);
		size_t len = strlen(dir);
		if (len + 3 >= sizeof(dir))
			break;
		strcat(dir, "/..");
	}
	char *cat = har_scenario_find_catalogue(exe_dir);
	if (!cat)
		return NULL;
	snprintf(cand, sizeof(cand), "%s/schema.json", cat);
	free(cat);
	return file_exists(cand) ? strdup(cand) : NULL;
}

/* A build tree uses its own sources; an installed harness its data dir,
 * found next to the program first (a DESTDIR or moved install), then at
 * the compiled-in HAR_DATADIR (make install's PREFIX). */
char *har_scenario_find_catalogue(const char *exe_dir)
{
	char cand[PATH_MAX + 64];
	struct stat st;
	const char *const rel[] = {"%s/../../scenarios", "%s/../share/lwm2m-harness/scenarios"};
	for (size_t i = 0; exe_dir && i < 2; i++) {
		snprintf(cand, sizeof(cand), rel[i], exe_dir);
		if (stat(cand, &st) == 0 && S_ISDIR(st.st_mode))
			return strdup(cand);
	}
	snprintf(cand, sizeof(cand), "%s/scenarios", HAR_DATADIR);
	return stat(cand, &st) == 0 && S_ISDIR(st.st_mode) ? strdup(cand) : NULL;
}

/* Validates a value against one of the schema's $defs (the emulator config
 * of a referenced file uses the same rules as an inline one). */
static size_t validate_def(const json_t *schema, const char *def, const json_t *inst,
			   struct har_errs *errs)
{
	char ref[128];
	snprintf(ref, sizeof(ref), "#/$defs/%s", def);
	json_t *wrap =
	    json_pack("{s:O, s:s}", "$defs", json_object_get(schema, "$defs"), "$ref", ref);
	size_t n = wrap ? har_schema_validate(wrap, inst, errs) : 1;
	json_decref(wrap);
	return n;
}

/* Loads the emulator config: inline, or a file relative to the scenario. */
static int load_emulator(const json_t *schema, struct har_scenario *sc, struct har_errs *errs)
{
	const json_t *emu = json_object_get(sc->root, "emulator");
	char dir[PATH_MAX], path[PATH_MAX * 2];
	json_error_t jerr;
	if (!emu) {
		sc->emulator = json_object();
		return 0;
	}
	if (json_is_object(emu)) {
		sc->emulator = json_deep_copy(emu);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s", sc->file);
	snprintf(path, sizeof(path), "%s/%s", dirname(dir), json_string_value(emu));
	sc->emulator = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!sc->emulator) {
		if (jerr.line > 0)
			har_errs_add(errs, "$.emulator", "%s: line %d, column %d: %s", path,
				     jerr.line, jerr.column, jerr.text);
		else
			har_errs_add(errs, "$.emulator", "cannot load %s: %s", path, jerr.text);
		return -1;
	}
	struct har_errs sub = {0};
	if (validate_def(schema, "emulator_config", sc->emulator, &sub) != 0) {
		for (size_t i = 0; i < sub.n; i++)
			har_errs_add(errs, "$.emulator", "%s: %s: %s", path, sub.v[i].path,
				     sub.v[i].msg);
		har_errs_free(&sub);
		return -1;
	}
	return 0;
}

/* Checks the matchers of one step or expectation (JSON path given). */
static void check_matchers(const json_t *item, const char *path, struct har_errs *errs)
{
	char sub[256];
	const json_t *m;
	if ((m = json_object_get(item, "expect")) &&
	    (json_object_get(item, "client") || json_object_get(item, "emulator"))) {
		snprintf(sub, sizeof(sub), "%s.expect", path);
		har_match_check(m, sub, errs);
	}
	static const char *const kinds[] = {"expect_event", "expect_absent", "expect_count", NULL};
	for (size_t k = 0; kinds[k]; k++) {
		if ((m = json_object_get(json_object_get(item, kinds[k]), "fields"))) {
			snprintf(sub, sizeof(sub), "%s.%s.fields", path, kinds[k]);
			har_match_check(m, sub, errs);
		}
	}
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(item, "expect_order"), i, o)
	{
		if ((m = json_object_get(o, "fields"))) {
			snprintf(sub, sizeof(sub), "%s.expect_order[%zu].fields", path, i);
			har_match_check(m, sub, errs);
		}
	}
}

/* A scenario may state hours of scenario time, but only with a warp that
 * keeps its wall time within the bound every scenario has. */
static void check_wall_time(const struct har_scenario *sc, struct har_errs *errs)
{
	const json_t *t = json_object_get(sc->root, "timeout_ms"),
		     *w = json_object_get(sc->root, "time_warp");
	json_int_t ms = t ? json_integer_value(t) : 0, warp = w ? json_integer_value(w) : 1;
	if (ms > HAR_SCENARIO_WALL_MAX_MS * warp)
		har_errs_add(errs, "$.timeout_ms",
			     "%lld ms of scenario time would take %lld ms of wall time at "
			     "time_warp %lld, over the %d ms a scenario may take: raise "
			     "time_warp or lower timeout_ms",
			     (long long)ms, (long long)(ms / warp), (long long)warp,
			     HAR_SCENARIO_WALL_MAX_MS);
}

/* The checks a schema cannot express: matcher operators and regexes, and
 * the wall time of a warped scenario. */
static void check_semantics(const struct har_scenario *sc, struct har_errs *errs)
{
	char path[64];
	size_t i;
	json_t *item;
	check_wall_time(sc, errs);
	json_array_foreach(json_object_get(sc->root, "steps"), i, item)
	{
		snprintf(path, sizeof(path), "$.steps[%zu]", i);
		check_matchers(item, path, errs);
	}
	json_array_foreach(json_object_get(sc->root, "expect"), i, item)
	{
		snprintf(path, sizeof(path), "$.expect[%zu]", i);
		check_matchers(item, path, errs);
	}
}

/* A client.layer path is relative to the scenario file; it must exist
 * before anything runs. The resolved path replaces the text. */
static void resolve_layer(struct har_scenario *sc, struct har_errs *errs)
{
	json_t *client = json_object_get(sc->root, "client");
	const char *layer = json_string_value(json_object_get(client, "layer"));
	char dir[PATH_MAX], path[PATH_MAX * 2];
	if (!layer)
		return;
	snprintf(dir, sizeof(dir), "%s", sc->file);
	if (layer[0] == '/')
		snprintf(path, sizeof(path), "%s", layer);
	else
		snprintf(path, sizeof(path), "%s/%s", dirname(dir), layer);
	if (access(path, R_OK) != 0) {
		har_errs_add(errs, "$.client.layer", "cannot read the socket layer %s: %s", path,
			     strerror(errno));
		return;
	}
	json_object_set_new(client, "layer", json_string(path));
}

/* Syntax, schema, then semantic checks: every problem of a file at once. */
int har_scenario_load(const json_t *schema, const char *file, struct har_scenario *sc,
		      struct har_errs *errs)
{
	json_error_t jerr;
	char dir[PATH_MAX];
	size_t before = errs->n;
	memset(sc, 0, sizeof(*sc));
	sc->file = strdup(file);
	sc->root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
	if (!sc->root) {
		char where[64];
		snprintf(where, sizeof(where), "line %d, column %d", jerr.line, jerr.column);
		har_errs_add(errs, where, "invalid JSON: %s", jerr.text);
		return -1;
	}
	if (har_schema_validate(schema, sc->root, errs) != 0)
		return -1;
	sc->name = strdup(json_string_value(json_object_get(sc->root, "name")));
	snprintf(dir, sizeof(dir), "%s", file);
	sc->group = strdup(basename(dirname(dir)));
	load_emulator(schema, sc, errs);
	resolve_layer(sc, errs);
	check_semantics(sc, errs);
	return errs->n == before ? 0 : -1;
}

/* --tag selects scenarios by their tags. */
int har_scenario_has_tag(const struct har_scenario *sc, const char *tag)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(sc->root, "tags"), i, t)
	{
		if (strcmp(json_string_value(t), tag) == 0)
			return 1;
	}
	return 0;
}

/* One place decides the warp, so the worker, its deadline and the report
 * agree. */
int har_scenario_time_warp(const struct har_scenario *sc, int override)
{
	const json_t *w = json_object_get(sc->root, "time_warp");
	if (override > 0)
		return override;
	return w ? (int)json_integer_value(w) : 1;
}

/* Frees what loading allocated. */
void har_scenario_free(struct har_scenario *sc)
{
	free(sc->file);
	free(sc->name);
	free(sc->group);
	json_decref(sc->root);
	json_decref(sc->emulator);
	memset(sc, 0, sizeof(*sc));
}
