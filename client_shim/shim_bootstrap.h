/* shim_bootstrap.h: LwM2M client-initiated bootstrap: Bootstrap-Request
 * (POST /bs?ep=NAME), the bootstrap server's Write/Delete/Discover on /0
 * and /1 (shim_ops.c opens /0 while bootstrapping), Bootstrap-Finish (POST
 * /bs: 2.04, or 4.06 with a reason when the written server account cannot
 * be used), then the switch: a new layer socket with the written server URI
 * and credentials (PSK, or certificate, key and trust anchor in DER),
 * connect and Register. */
#ifndef SHIM_BOOTSTRAP_H
#define SHIM_BOOTSTRAP_H
#include <jansson.h>

#include "client_shim/shim_client.h"

/* Adds the /bs resource (Bootstrap-Finish); 0 or -1. */
int shim_bootstrap_init(shim_client_t *c);
/* The `bootstrap` command: waits up to timeout_ms for Bootstrap-Finish.
 * 0 when the client registered with the written account; else an errno
 * value with err (the client keeps its configuration when Finish was
 * refused or never came). */
int shim_bootstrap_run(shim_client_t *c, long timeout_ms, json_t *f, sl_error_t *err);

/* Removes the files of a bootstrapped certificate account, if any. */
void shim_bootstrap_free(shim_client_t *c);

#endif
