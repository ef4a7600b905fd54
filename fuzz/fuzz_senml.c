/* libFuzzer target: the SenML-JSON decoder (emu_senml_decode: base names,
 * base times, value kinds), which reads device payloads for the event log. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "emu_senml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes, then serialises the result as lh_event does. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[160];
	json_t *v = emu_senml_decode((const char *)data, size, err, sizeof(err));
	if (!v)
		return 0;
	char *text = json_dumps(v, JSON_COMPACT);
	if (!text)
		__builtin_trap(); /* a decoded value the event log cannot write */
	free(text);
	json_decref(v);
	return 0;
}
