#ifndef EMU_REQUEST_H
#define EMU_REQUEST_H
#include <coap3/coap.h>
#include <jansson.h>
#include <stdint.h>

struct emu_server;
struct emu_session;
struct emu_requests;
struct emu_models;

/* Server-initiated LwM2M operations (Read, Write, Execute, Discover,
 * Observe, Cancel, ...) sent by the emulator's own CoAP layer. A request
 * belongs to the device, not to a session: it goes out, and is
 * retransmitted (RFC 7252 §4.2 timing, bounded), on whichever session
 * carries the device now. Answers and notifications become
 * `response_received` / `notify` events with the payload decoded (text,
 * opaque, TLV, SenML JSON, JSON, link-format); a large answer is fetched
 * block by block (Block2). */

/* Sets up / frees the request table of srv. */
int emu_request_init(struct emu_server *srv);
void emu_request_fini(struct emu_server *srv);
/* Control "request": {endpoint, method, path[, payload|payload_hex][,
 * format][, accept][, request]}. Returns {"request": id, "token": hex,
 * "session": id} or NULL with err. */
json_t *emu_request_send(struct emu_server *srv, const json_t *req, char *err, size_t size);
/* The same to a given session (bootstrap: the client is not registered);
 * ep names it in events. */
json_t *emu_request_to(struct emu_server *srv, struct emu_session *s, const char *ep,
		       const json_t *req, char *err, size_t size);
/* A response, empty ACK or RST that arrived on s. */
void emu_request_input(struct emu_session *s, const coap_pdu_t *pdu);
/* A request's timer popped (retransmission or response deadline). */
void emu_request_timer(struct emu_server *srv, uint64_t id, uint32_t gen);
/* A device in queue mode woke up: what waited for it goes out, in order. */
void emu_request_wake(struct emu_server *srv, const char *endpoint);
/* How many requests wait for endpoint (asleep, or behind one in flight). */
size_t emu_request_queued(const struct emu_server *srv, const char *endpoint);
/* Pending requests (not observations), for listings. */
size_t emu_request_pending(const struct emu_server *srv);
/* Decodes a payload by CoAP content-format for the event log, with no
 * request path (TLV values untyped: guesses; SenML checked against the
 * built-in models). */
json_t *emu_request_decode(int format, const uint8_t *data, size_t len);
/* The same with the object models (NULL: built-ins only) and the path the
 * payload answers ("/3/0"): TLV values typed and named (emu_tlv.h). */
json_t *emu_request_decode_model(const struct emu_models *models, const char *path, int format,
				 const uint8_t *data, size_t len);

#endif
