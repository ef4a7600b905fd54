#ifndef EMU_LINK_H
#define EMU_LINK_H
#include <jansson.h>
#include <stddef.h>

/* CoRE Link Format (RFC 6690) as LwM2M Register/Update payloads use it:
 * `</1/0>,</3/0>;ver=1.1,</>;rt="oma.lwm2m"`. */

/* Splits payload into link-values at top-level commas (commas inside quoted
 * strings do not split) and checks each starts with <URI>. On success returns
 * a JSON array of the link-values as sent, trimmed; on error returns NULL and
 * writes what was wrong and where into err. */
json_t *emu_link_parse(const char *payload, size_t len, char *err, size_t err_size);

#endif
