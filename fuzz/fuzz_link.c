/* libFuzzer target: the CoRE Link Format parser for Register/Update payloads
 * (emu_link_parse), and the JSON it hands to the event log. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "emu_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses, then serialises the result the way lh_event does. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[160];
	json_t *links = emu_link_parse((const char *)data, size, err, sizeof(err));
	if (!links)
		return 0;
	if (!json_is_array(links))
		__builtin_trap();
	char *text = json_dumps(links, JSON_COMPACT);
	free(text);
	json_decref(links);
	return 0;
}
