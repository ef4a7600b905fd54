/* shim_device.h: the Device object (/3, /3/0, /3/0/N) served to the server:
 * Read (SenML JSON or text, by Accept), Observe, Cancel, notifications. */
#ifndef SHIM_DEVICE_H
#define SHIM_DEVICE_H
#include <jansson.h>

#include "client_shim/shim_client.h"
#include "client_shim/shim_model.h"

/* Adds the observable resources to the libcoap context; 0 or -1. */
int shim_device_init(shim_client_t *c);
void shim_device_free(shim_client_t *c);
/* Marks observed resources changed; returns how many have observers and
 * appends their paths to paths (may be NULL). */
int shim_device_notify(shim_client_t *c, json_t *paths);
/* The SenML JSON of /3/0 (full names via bn "/3/0/"); free() it. */
char *shim_device_senml(shim_client_t *c);
/* Appends the records of p (/3, /3/0 or /3/0/N) with full names
 * ("n":"/3/0/0") for a Read-Composite; 0, 404 when p names nothing
 * readable of /3, -1 out of memory. */
int shim_device_records(shim_client_t *c, const shim_path_t *p, json_t *out);
/* True once libcoap produced every notification shim_device_notify asked. */
int shim_device_notified(shim_client_t *c);

#endif
