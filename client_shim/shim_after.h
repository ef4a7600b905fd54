/* shim_after.h: what the client does right after a connect (a full
 * handshake, a resumed session or a restored CID context) while it holds a
 * registration: Register, Update or nothing, as the config's after_connect
 * says (docs/protocol.md). */
#ifndef SHIM_AFTER_H
#define SHIM_AFTER_H
#include <jansson.h>

#include "client_shim/shim_client.h"

/* Performs the configured action for the connection just made and says
 * what it did in fields ("after_connect": "registered", "updated" or
 * "nothing", plus "after_connect_code" and "location" when a request went
 * out) and in an "after_connect" event. Returns 0, or the request's error
 * in err (its message says it was the after-connect request). */
int shim_after_connect(shim_client_t *c, json_t *fields, sl_error_t *err);

#endif
