/* shim_ops.h: the server's requests on the client's objects beyond the
 * Device object's Read: Write (PUT replace, POST partial update), Execute,
 * Discover, Write-Attributes, Read of the Server and Firmware Update
 * objects, and what a real client answers to bad ones (4.00 bad payload,
 * 4.01 Security object, 4.04 unknown path, 4.05 operation not allowed on
 * the resource, 4.15 format not taken). Each served request is an event
 * `request_served` (method, op, path, code, reason on an error). */
#ifndef SHIM_OPS_H
#define SHIM_OPS_H
#include <coap3/coap.h>

#include "client_shim/shim_client.h"

/* Creates the model, its resources (those shim_device.c has not) and the
 * unknown-path handler, and adds PUT/POST/DELETE to every resource under
 * /3 already there. 0 or -1. */
int shim_ops_init(shim_client_t *c);
void shim_ops_free(shim_client_t *c);
/* Discover (GET with Accept 40) of the resource r; called by shim_device
 * for the Device object. */
void shim_ops_discover(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		       const coap_string_t *query, coap_pdu_t *response);
/* Reports a served request (event request_served) and counts it for
 * wait_request; code is class*100+detail. */
void shim_ops_served(shim_client_t *c, const char *method, const char *op, const char *path,
		     int code, const char *reason);

#endif
