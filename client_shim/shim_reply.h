/* shim_reply.h: replies and error fields in the shape docs/protocol.md fixes
 * ("event":"reply", ok, error class, message, alert object, mbedtls_error). */
#ifndef SHIM_REPLY_H
#define SHIM_REPLY_H
#include <jansson.h>

#include "client_shim/include/sl_layer.h"

/* Fills err (errno class + message, no alert) and returns code. */
int shim_reply_err_set(sl_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "ETIMEDOUT", "EPROTO", ... for an errno value ("E<number>" if unknown). */
const char *shim_reply_errno_name(int code, char *buf, size_t size);
/* {"level":2,"description":20,"name":"bad_record_mac"} */
json_t *shim_reply_alert_json(const sl_alert_t *a);
/* Adds error, message, alert and mbedtls_error(_text) from err to obj. */
void shim_reply_add_error(json_t *obj, const sl_error_t *err);
/* Emits the one reply of a command: cmd, id (may be NULL), ok, ms, fields. */
void shim_reply_send(const char *cmd, const json_t *id, int ok, double ms, json_t *fields);
/* Monotonic ms with sub-ms resolution (reply "ms"). */
double shim_reply_now_ms(void);

#endif
