#ifndef EMU_TLV_H
#define EMU_TLV_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct emu_models;

/* OMA LwM2M TLV (content-format 11542, LwM2M 1.x §7.4.3) decoded for the
 * event log. TLV carries no types: with the object model of the path
 * (emu_model.h) each value is typed ("type", "value", with "path" and the
 * resource's "name"); without one, every plausible reading is listed under
 * "guesses". Either way the raw "value_hex" stays, and the readings older
 * consumers match on ("text" when printable, "int" for 1/2/4/8 bytes) are
 * kept whenever they agree with the model (docs/protocol.md). */

/* Decodes buf into an array of {"kind","id","value_hex",...} objects
 * (object instances and multiple resources have "children"), with no
 * model. Returns NULL with err saying what was wrong and at which offset. */
json_t *emu_tlv_decode(const uint8_t *buf, size_t len, char *err, size_t err_size);
/* The same, typed with the models (NULL: the built-in ones) of the
 * request path ("/3/0", "/3303/0/5700"; NULL or unparsable: no model). */
json_t *emu_tlv_decode_model(const uint8_t *buf, size_t len, const struct emu_models *models,
			     const char *path, char *err, size_t err_size);
/* Every plausible reading of an untyped value: int, uint, float, bool,
 * text, objlnk, time. Shared with the SenML decoders' mismatch notes. */
json_t *emu_tlv_guesses(const uint8_t *v, size_t len);

#endif
