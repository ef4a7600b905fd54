/* libFuzzer target: the OMA LwM2M TLV decoder (emu_tlv_decode_model), which
 * reads whatever a device answers to a server-initiated Read or sends in a
 * Notify, typed by the built-in object models of the request path (or
 * untyped: guesses), and the JSON it hands to the event log. The input's
 * length picks the path, so the seeds keep their meaning. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "emu_model.h"
#include "emu_tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes, then serialises the result as lh_event does. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {NULL,     "/3/0", "/6/0/0",	  "/3/0/7",  "/0",
					    "/1/0/1", "/4/0", "/5/0/3/1", "/9999/0", "/3/x"};
	char err[160];
	const char *path = paths[size % (sizeof(paths) / sizeof(paths[0]))];
	json_t *v = emu_tlv_decode_model(data, size, NULL, path, err, sizeof(err));
	if (!v)
		return 0;
	char *text = json_dumps(v, JSON_COMPACT);
	if (!text)
		__builtin_trap(); /* a decoded value the event log cannot write */
	free(text);
	json_decref(v);
	return 0;
}
