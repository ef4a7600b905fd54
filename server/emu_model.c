/* Object model registry and lookups (see emu_model.h). */
#include "emu_model.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_ddf.h"
#include "lh_event.h"

/* A directory holds at most this many DDF files: a bound on start-up time
 * and memory, and a typo'd --models / pointing at a large tree is caught. */
#define EMU_MODELS_FILES_MAX 4096

struct emu_models {
	struct emu_obj_model **objs; /* sorted by id */
	size_t count, cap;
};

static const struct {
	const char *ddf, *shown;
} type_names[] = {
    [EMU_RT_NONE] = {"", "none"},
    [EMU_RT_STRING] = {"String", "string"},
    [EMU_RT_INTEGER] = {"Integer", "integer"},
    [EMU_RT_UNSIGNED] = {"Unsigned Integer", "unsigned"},
    [EMU_RT_FLOAT] = {"Float", "float"},
    [EMU_RT_BOOLEAN] = {"Boolean", "boolean"},
    [EMU_RT_OPAQUE] = {"Opaque", "opaque"},
    [EMU_RT_TIME] = {"Time", "time"},
    [EMU_RT_OBJLNK] = {"Objlnk", "objlnk"},
    [EMU_RT_CORELNK] = {"Corelnk", "corelnk"},
};
#define TYPE_COUNT (sizeof(type_names) / sizeof(type_names[0]))

/* Shown names are lower case and short, as JSON consumers match on them. */
const char *emu_model_type_name(int type)
{
	return type >= 0 && (size_t)type < TYPE_COUNT ? type_names[type].shown : "unknown";
}

/* DDF files spell types as the OMA schema does; "None" is also seen in
 * registry files for Execute resources. */
int emu_model_type_parse(const char *text)
{
	if (!strcmp(text, "None"))
		return EMU_RT_NONE;
	for (size_t i = 0; i < TYPE_COUNT; i++)
		if (!strcmp(text, type_names[i].ddf))
			return (int)i;
	return -1;
}

/* The OMA schema allows exactly these spellings. */
int emu_model_ops_parse(const char *text)
{
	static const struct {
		const char *text;
		int ops;
	} ops[] = {{"", 0},
		   {"R", EMU_OP_R},
		   {"W", EMU_OP_W},
		   {"RW", EMU_OP_R | EMU_OP_W},
		   {"E", EMU_OP_E}};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(text, ops[i].text))
			return ops[i].ops;
	return -1;
}

/* Index of the first loaded object with id >= obj (binary search). */
static size_t lower_bound(const struct emu_models *m, uint32_t obj)
{
	size_t lo = 0, hi = m->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->objs[mid]->id < obj)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A loaded DDF wins over the built-in table: the user's file is newer or
 * more specific than what was compiled in. */
const struct emu_obj_model *emu_model_object(const struct emu_models *models, uint32_t obj)
{
	if (models) {
		size_t i = lower_bound(models, obj);
		if (i < models->count && models->objs[i]->id == obj)
			return models->objs[i];
	}
	return emu_model_builtin(obj);
}

/* Resources are sorted by id (the DDF parser sorts them), so a binary
 * search keeps decoding a large object cheap. */
const struct emu_res_model *emu_model_resource(const struct emu_obj_model *o, uint32_t res)
{
	size_t lo = 0, hi = o ? o->res_count : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (o->res[mid].id == res)
			return &o->res[mid];
		if (o->res[mid].id < res)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Empty: lookups fall through to the built-in table. */
struct emu_models *emu_models_new(void)
{
	return calloc(1, sizeof(struct emu_models));
}

/* The loader owns every string of a parsed model: one place frees them. */
void emu_obj_model_free(struct emu_obj_model *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->res_count; i++)
		free((char *)o->res[i].name);
	free((void *)o->res);
	free((char *)o->name);
	free((char *)o->source);
	free(o);
}

/* The registry owns its models: a reload frees the old set with its config. */
void emu_models_free(struct emu_models *models)
{
	if (!models)
		return;
	for (size_t i = 0; i < models->count; i++)
		emu_obj_model_free(models->objs[i]);
	free(models->objs);
	free(models);
}

/* Keeps the array sorted so lookups stay a binary search; one file per
 * object id, so a second one is an error naming both. */
int emu_models_add(struct emu_models *m, struct emu_obj_model *o, char *err, size_t err_size)
{
	size_t i = lower_bound(m, o->id);
	if (i < m->count && m->objs[i]->id == o->id) {
		snprintf(err, err_size, "%s: object %u is already defined by %s", o->source,
			 (unsigned)o->id, m->objs[i]->source);
		goto err;
	}
	if (m->count == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct emu_obj_model **n = realloc(m->objs, cap * sizeof(*n));
		if (!n) {
			snprintf(err, err_size, "out of memory loading %s", o->source);
			goto err;
		}
		m->objs = n;
		m->cap = cap;
	}
	memmove(m->objs + i + 1, m->objs + i, (m->count - i) * sizeof(*m->objs));
	m->objs[i] = o;
	m->count++;
	return 0;
err:
	emu_obj_model_free(o);
	return -1;
}

/* For announcing what was loaded (and for tests). */
size_t emu_models_count(const struct emu_models *models)
{
	return models ? models->count : 0;
}

/* The i-th loaded model, by object id order. */
const struct emu_obj_model *emu_models_get(const struct emu_models *models, size_t i)
{
	return models && i < models->count ? models->objs[i] : NULL;
}

/* Only *.xml files count: a directory may hold README files or the
 * registry's other artefacts next to the DDFs. */
static int is_ddf(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".xml");
}

/* Parses one file of the directory and adds it. */
static int load_one(struct emu_models *m, const char *dir, const char *name, char *err,
		    size_t err_size)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(err, err_size, "%s/%s: path too long", dir, name);
		return -1;
	}
	struct emu_obj_model *o = emu_ddf_load_file(path, err, err_size);
	return o ? emu_models_add(m, o, err, err_size) : -1;
}

/* Sorted by name, so which file a duplicate error blames is stable. */
struct emu_models *emu_models_load_dir(const char *dir, char *err, size_t err_size)
{
	struct dirent **names = NULL;
	struct emu_models *m = emu_models_new();
	int n = m ? scandir(dir, &names, is_ddf, alphasort) : -1;
	if (!m || n < 0) {
		snprintf(err, err_size, "%s: %s%s", dir,
			 m ? "cannot read this directory of DDF files: " : "out of memory",
			 m ? strerror(errno) : "");
		goto err;
	}
	if (n == 0)
		snprintf(err, err_size, "%s: no *.xml DDF files in this directory", dir);
	else if (n > EMU_MODELS_FILES_MAX)
		snprintf(err, err_size, "%s: %d .xml files, at most %d", dir, n,
			 EMU_MODELS_FILES_MAX);
	for (int i = 0; i < n; i++) {
		if (m && (n > EMU_MODELS_FILES_MAX ||
			  load_one(m, dir, names[i]->d_name, err, err_size) < 0)) {
			emu_models_free(m);
			m = NULL;
		}
		free(names[i]);
	}
	free(names);
	if (n == 0) {
		emu_models_free(m);
		m = NULL;
	}
	return m;
err:
	emu_models_free(m);
	return NULL;
}

/* A whole number an Integer could hold: SenML JSON may write 5 as 5.0, and
 * a cast of anything out of range would be undefined (found by fuzz_cbor). */
static int integral(double d)
{
	return floor(d) == d && d >= -9.2e18 && d <= 9.2e18;
}

/* Does a decoded SenML/LwM2M CBOR value fit the model's type? Numbers
 * may come as integers for a Float; opaque values are text (base64 or
 * hex) by the time they are JSON. */
static int value_fits(int type, const json_t *v)
{
	unsigned a, b;
	char end;
	switch (type) {
	case EMU_RT_STRING:
	case EMU_RT_CORELNK:
	case EMU_RT_OPAQUE:
		return json_is_string(v);
	case EMU_RT_INTEGER:
	case EMU_RT_TIME:
		return json_is_integer(v) || (json_is_real(v) && integral(json_real_value(v)));
	case EMU_RT_UNSIGNED:
		return json_is_integer(v) && json_integer_value(v) >= 0;
	case EMU_RT_FLOAT:
		return json_is_number(v);
	case EMU_RT_BOOLEAN:
		return json_is_boolean(v);
	case EMU_RT_OBJLNK:
		return json_is_string(v) &&
		       sscanf(json_string_value(v), "%u:%u%c", &a, &b, &end) == 2 && a <= 65535 &&
		       b <= 65535;
	default:
		return json_is_null(v);
	}
}

/* The JSON kind of a value, for a mismatch note. */
static const char *json_kind(const json_t *v)
{
	static const char *const names[] = {"an object", "an array", "a string", "an integer",
					    "a real",	 "true",     "false",	 "null"};
	return names[json_typeof(v)];
}

/* "/3/0/13" or "/3/0/6/1" -> object and resource ids; -1 for a record
 * that does not name a resource. */
static int record_ids(const char *name, uint32_t *obj, uint32_t *res)
{
	unsigned o, i, r;
	int used = 0;
	if (!name || sscanf(name, "/%u/%u/%u%n", &o, &i, &r, &used) != 3 || o > 65535 || r > 65535)
		return -1;
	if (name[used] && name[used] != '/')
		return -1;
	*obj = o;
	*res = r;
	return 0;
}

/* SenML carries its own types, so a model is a check here, not a
 * decoding: each record gets the resource's name and type, and a note
 * when the device sent something else (not fatal: the value is shown as
 * sent). */
void emu_model_check_records(json_t *records, const struct emu_models *models)
{
	size_t i;
	json_t *r;
	json_array_foreach(records, i, r)
	{
		uint32_t obj, res;
		const char *name = json_string_value(json_object_get(r, "name"));
		const json_t *v = json_object_get(r, "value");
		if (record_ids(name, &obj, &res) < 0)
			continue;
		const struct emu_res_model *rm =
		    emu_model_resource(emu_model_object(models, obj), res);
		if (!rm)
			continue;
		json_object_set_new(r, "resource", json_string(rm->name));
		json_object_set_new(r, "type", json_string(emu_model_type_name(rm->type)));
		if (v && !json_is_null(v) && !value_fits(rm->type, v))
			json_object_set_new(r, "type_mismatch",
					    json_sprintf("the model says %s, the device sent %s",
							 emu_model_type_name(rm->type),
							 json_kind(v)));
	}
}

/* A user should see which file decodes which object, above all when a
 * file replaces what the emulator would otherwise have used. */
void emu_models_announce(const struct emu_models *models)
{
	for (size_t i = 0; i < emu_models_count(models); i++) {
		const struct emu_obj_model *o = models->objs[i];
		lh_event_emitf("model_loaded", "{s:s, s:i, s:s, s:I, s:s?}", "file", o->source,
			       "object", (int)o->id, "name", o->name, "resources",
			       (json_int_t)o->res_count, "overrides",
			       emu_model_builtin(o->id) ? "built-in model" : NULL);
	}
}
