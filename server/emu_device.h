#ifndef EMU_DEVICE_H
#define EMU_DEVICE_H
#include <stdint.h>

#include "emu_registry.h"

struct emu_server;
struct emu_session;

/* The device is the unit: its registration (and so its pending requests
 * and observations, which name it) follows it to whichever session carries
 * it now: a resumed session (same lineage as the session it last used), a
 * CID address change (the same session), a TLS reconnect or a new full
 * handshake with an identity exactly one registered device has, and any
 * session it sends a Register or Update on. */

/* The identity a device is known by on s: its PSK identity, its
 * certificate subject, or (plain CoAP, unauthenticated) "coap:" + its
 * address. Valid until the next call. */
const char *emu_device_identity(struct emu_session *s);
/* s is established: the device it carries, when it can be told, now
 * follows it (event device_moved). */
void emu_device_session_ready(struct emu_session *s);
/* r is reached through s from now on. why names the move in the event
 * (NULL: a new registration, no event); a device that moved with
 * certainty ("resumed", "update") has its old session closed as
 * superseded. */
void emu_device_bind(struct emu_session *s, struct emu_reg *r, const char *why);
/* The registration (device) s carries now, or NULL. */
struct emu_reg *emu_device_of(const struct emu_session *s);
/* s carried a message from its device (after it was answered): a device in
 * queue mode is awake for a while, and what waited for it goes out. */
void emu_device_heard(struct emu_session *s);
/* Is r's device asleep (queue mode, not heard from for the awake time)? */
int emu_device_asleep(const struct emu_server *srv, const struct emu_reg *r);
/* Expires registrations; called about once a second. */
void emu_device_housekeeping(struct emu_server *srv, int64_t now);

#endif
