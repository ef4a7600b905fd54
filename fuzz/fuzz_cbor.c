/* libFuzzer target: the CBOR content formats (emu_cbor.c): SenML CBOR and
 * LwM2M CBOR decoding of untrusted bytes (truncated, nested too deep,
 * indefinite lengths, wrong types), and the SenML CBOR encoder on what the
 * decoder accepted, and the records' check against the object models: a
 * clear error or records, never a crash. The first
 * byte picks the decoder. */
#include <stdlib.h>

#include "emu_cbor.h"
#include "emu_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[160];
	uint8_t *out = NULL;
	if (size < 1)
		return 0;
	json_t *recs = data[0] & 1 ? emu_cbor_lwm2m_decode(data + 1, size - 1, err, sizeof(err))
				   : emu_cbor_senml_decode(data + 1, size - 1, err, sizeof(err));
	if (recs) {
		/* Records named by paths are checked against the built-in
		 * models, as the event log does. */
		emu_model_check_records(recs, NULL);
		/* Decoded names and values as records again: the encoder must cope
		 * (or refuse with a reason) whatever the values are. */
		json_t *again = json_array();
		size_t i;
		json_t *r;
		json_array_foreach(recs, i, r) json_array_append_new(
		    again, json_pack("{s:O, s:O}", "n", json_object_get(r, "name"), "v",
				     json_object_get(r, "value")));
		emu_cbor_senml_encode(again, &out, err, sizeof(err));
		free(out);
		json_decref(again);
	}
	json_decref(recs);
	return 0;
}
