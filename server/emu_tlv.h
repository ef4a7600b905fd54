#ifndef EMU_TLV_H
#define EMU_TLV_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* OMA LwM2M TLV (content-format 11542, LwM2M 1.x §7.4.3) decoded for the
 * event log. TLV carries no types, so each value is shown as hex, as text
 * when printable, and as a signed integer when it has 1, 2, 4 or 8 bytes. */

/* Decodes buf into an array of {"kind","id","value_hex",...} objects
 * (object instances and multiple resources have "children"). Returns NULL
 * with err saying what was wrong and at which offset. */
json_t *emu_tlv_decode(const uint8_t *buf, size_t len, char *err, size_t err_size);

#endif
