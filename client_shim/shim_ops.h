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
#include "client_shim/shim_codec.h"

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
/* Checks every record (4.04 no such resource, 4.01 Security object, 4.05
 * not writable, 4.00 value) and only then stores them all, so a Write or a
 * Write-Composite is applied whole or not at all; observers of each
 * written resource are told. Returns 204 or the error code with why. */
int shim_ops_apply(shim_client_t *c, const shim_recs_t *recs, char *why, size_t size);
/* Appends the SenML JSON records (full names, "n":"/1/0/1") of what a
 * Read of p returns; 0, or 404 when p names nothing readable here (4.01
 * for the Security object outside bootstrap), -1 out of memory. */
int shim_ops_records(shim_client_t *c, const shim_path_t *p, json_t *out);
/* Puts body into the answer in format fmt (Block2 when large). 0 or 500. */
int shim_ops_put_body(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		      const coap_string_t *query, coap_pdu_t *response, int fmt, const void *body,
		      size_t len);

#endif
