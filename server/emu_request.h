#ifndef EMU_REQUEST_H
#define EMU_REQUEST_H
#include <coap3/coap.h>
#include <jansson.h>

struct emu_server;

/* Server-initiated LwM2M operations on a registered endpoint (Read, Write,
 * Execute, Discover, Observe, Cancel Observation), sent through libcoap on
 * the endpoint's bridge session. Answers and notifications become
 * `response_received` / `notify` events with the payload decoded (text,
 * opaque, TLV, SenML JSON, JSON, link-format). */

/* Registers the response and NACK handlers on srv->coap. */
void emu_request_init(struct emu_server *srv);
void emu_request_fini(struct emu_server *srv);
/* Control "request": {endpoint, method, path[, payload][, format][, request]}.
 * Returns {"request": id, "token": hex} or NULL with err. */
json_t *emu_request_send(struct emu_server *srv, const json_t *req, char *err, size_t size);
/* The same on a given libcoap session (bootstrap: the client is not
 * registered); ep names it in events. */
json_t *emu_request_to(struct emu_server *srv, void *session, const char *ep, const json_t *req,
		       char *err, size_t size);
/* Decodes a payload by CoAP content-format for the event log. */
json_t *emu_request_decode(int format, const uint8_t *data, size_t len);

#endif
