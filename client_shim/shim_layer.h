/* shim_layer.h: picks the socket layer: the built-in Mbed TLS one, or a
 * shared object given with --layer, checked against the contract version. */
#ifndef SHIM_LAYER_H
#define SHIM_LAYER_H
#include <stddef.h>

#include "client_shim/include/sl_layer.h"

/* Loads path (NULL: built-in). Returns the vtable, or NULL with a message
 * saying what is wrong and what to do in msg. *handle gets the dlopen handle. */
const sl_vtable_t *shim_layer_load(const char *path, void **handle, char *msg, size_t msg_size);
/* Checks a vtable against this build's contract; -1 with a message. */
int shim_layer_check(const sl_vtable_t *vt, char *msg, size_t msg_size);
/* The capabilities a layer lacks, as a JSON-friendly list "cid,dane". */
const char *shim_layer_lacks_text(uint32_t lacks, char *buf, size_t size);

#endif
