#ifndef EMU_MODEL_H
#define EMU_MODEL_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* LwM2M object models: per object id its name and, per resource id, the
 * resource's name, data type, single/multiple and operations. TLV carries
 * no types, so a server needs them to show a TLV value as what it is
 * (LwM2M 1.1 TS Core §7.4.3; OMA object registry). The core OMA objects
 * 0..7 are built in; more come from DDF XML files (emu_ddf.c) and override
 * a built-in model with the same object id. */

enum emu_rtype {
	EMU_RT_NONE, /* Execute resources: no value */
	EMU_RT_STRING,
	EMU_RT_INTEGER,
	EMU_RT_UNSIGNED,
	EMU_RT_FLOAT,
	EMU_RT_BOOLEAN,
	EMU_RT_OPAQUE,
	EMU_RT_TIME,
	EMU_RT_OBJLNK,
	EMU_RT_CORELNK,
};

/* Operations, as a bit set. */
#define EMU_OP_R 1
#define EMU_OP_W 2
#define EMU_OP_E 4

struct emu_res_model {
	uint16_t id;
	uint8_t type;	  /* enum emu_rtype */
	uint8_t multiple; /* resource instances */
	uint8_t ops;	  /* EMU_OP_* */
	const char *name;
};

struct emu_obj_model {
	uint16_t id;
	uint8_t multiple; /* object instances */
	const char *name;
	const struct emu_res_model *res; /* sorted by id */
	size_t res_count;
	const char *source; /* "built-in" or the DDF file it came from */
};

/* The models the emulator decodes with: DDF files loaded from a directory
 * over the built-in ones. Owned by the config that named the directory. */
struct emu_models;

/* The object model for obj: a loaded DDF first, then the built-in table;
 * models may be NULL (built-ins only). NULL when there is none. */
const struct emu_obj_model *emu_model_object(const struct emu_models *models, uint32_t obj);
/* The built-in model of obj (0..7), or NULL. */
const struct emu_obj_model *emu_model_builtin(uint32_t obj);
/* A resource of an object model, or NULL. */
const struct emu_res_model *emu_model_resource(const struct emu_obj_model *o, uint32_t res);
/* "float", "unsigned", "objlnk", ... as shown in decoded values. */
const char *emu_model_type_name(int type);
/* A DDF <Type> text ("Float", "Unsigned Integer", "" ...) -> enum emu_rtype,
 * or -1 when it is not an LwM2M type. */
int emu_model_type_parse(const char *text);
/* A DDF <Operations> text ("R", "RW", "E", "") -> EMU_OP_* bits, or -1. */
int emu_model_ops_parse(const char *text);

/* Adds "resource" (name) and "type" to each decoded SenML / LwM2M CBOR
 * record ({"name": "/3/0/13", "value": ...}) whose resource has a model,
 * and "type_mismatch" when its value is not of that type. */
void emu_model_check_records(json_t *records, const struct emu_models *models);

/* Loads every *.xml file of dir (sorted by name). Two files for one object
 * id are an error; a file for a built-in object overrides it and is named
 * in the overrides list. Returns NULL with err naming the file, line and
 * element. */
struct emu_models *emu_models_load_dir(const char *dir, char *err, size_t err_size);
/* Emits one model_loaded event per loaded DDF object (file, object id,
 * name, resources), saying when it overrides a built-in model. */
void emu_models_announce(const struct emu_models *models);
/* Adds one parsed object model (taking it over) to models; -1 with err on
 * a duplicate object id. For tests and the loader. */
int emu_models_add(struct emu_models *models, struct emu_obj_model *o, char *err, size_t err_size);
/* An empty registry (built-ins only until something is added). */
struct emu_models *emu_models_new(void);
void emu_models_free(struct emu_models *models);
/* How many objects were loaded from DDF files, and the i-th one. */
size_t emu_models_count(const struct emu_models *models);
const struct emu_obj_model *emu_models_get(const struct emu_models *models, size_t i);
/* Frees an object model that emu_ddf_parse built. */
void emu_obj_model_free(struct emu_obj_model *o);

#endif
