/* libFuzzer target: the OMA DDF XML parser (emu_ddf_parse, on libxml2)
 * that --models runs over files a user hands in: malformed XML, missing or
 * repeated elements, bad ids and types, DTDs and entities must end in a
 * clear error naming the file, line and element, never a crash, leak or
 * hang. A model it accepts must be usable: registered, found again, every
 * resource found by its id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emu_ddf.h"
#include "emu_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every resource of an accepted model is found by its id, and the error
 * text of a refused one is a "file:line: <element>: ..." message. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	struct emu_obj_model *o =
	    emu_ddf_parse("fuzz.xml", (const char *)data, size, err, sizeof(err));
	if (!o) {
		if (strncmp(err, "fuzz.xml", 8))
			__builtin_trap(); /* an error that does not name the file */
		return 0;
	}
	for (size_t i = 0; i < o->res_count; i++)
		if (emu_model_resource(o, o->res[i].id) != &o->res[i] || !o->res[i].name)
			__builtin_trap();
	struct emu_models *m = emu_models_new();
	uint16_t id = o->id;
	if (!m || emu_models_add(m, o, err, sizeof(err)) < 0 || emu_model_object(m, id) != o)
		__builtin_trap();
	emu_models_free(m);
	return 0;
}
