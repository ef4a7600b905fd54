#ifndef EMU_SENML_H
#define EMU_SENML_H
#include <jansson.h>
#include <stddef.h>

/* SenML JSON (RFC 8428; LwM2M content-format 110) decoded for the event log:
 * base names and base times resolved, one {"name", "value"[, "time"]} per
 * record. */

/* Resolves a SenML document already in JSON form (an array of records with
 * JSON labels: bn, bt, n, t, v, vs, vb, vd, vlo). Returns the records, or
 * NULL with err naming the record and field. */
json_t *emu_senml_resolve(const json_t *doc, char *err, size_t err_size);
/* Returns the resolved records, or NULL with err naming the record and field. */
json_t *emu_senml_decode(const char *buf, size_t len, char *err, size_t err_size);

#endif
