#ifndef EMU_CBOR_H
#define EMU_CBOR_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The CBOR content formats of LwM2M 1.1/1.2, on libcbor: SenML CBOR (112,
 * RFC 8428 §6) and LwM2M CBOR (11544, nested maps keyed by path segments),
 * decoded into the same records as SenML JSON ({"name", "value"[,
 * "time"]}), and SenML CBOR encoded from SenML JSON records (Bootstrap-Pack).
 * Input is untrusted: nesting, sizes and types are checked, every error
 * says what was wrong. */

#define EMU_CBOR_DEPTH_MAX 16

/* Decodes SenML CBOR. NULL with err on anything malformed. */
json_t *emu_cbor_senml_decode(const uint8_t *data, size_t len, char *err, size_t err_size);
/* Decodes LwM2M CBOR into records named by their full path. */
json_t *emu_cbor_lwm2m_decode(const uint8_t *data, size_t len, char *err, size_t err_size);
/* Encodes SenML JSON records (bn, bt, n, t, v, vs, vb, vd as text, vlo) as
 * SenML CBOR into a malloc'd buffer. Returns its length, or 0 with err. */
size_t emu_cbor_senml_encode(const json_t *records, uint8_t **out, char *err, size_t err_size);

#endif
