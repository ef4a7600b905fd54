#ifndef EMU_BOOTSTRAP_H
#define EMU_BOOTSTRAP_H

#include "emu_msg.h"

struct emu_server;
struct emu_session;

/* LwM2M Bootstrap: POST /bs?ep=NAME is answered 2.04 (4.00 without ep),
 * then the server performs the configured operations ($.bootstrap.writes:
 * writes/deletes on /0 and /1, ...) and Bootstrap-Finish (POST /bs) on that
 * client's session, one at a time and in order (emu_request.c keeps one
 * request in flight per device, NSTART 1). */

int emu_bootstrap_init(struct emu_server *srv);
/* A Bootstrap-Request on s: answers it in resp and queues the job. */
void emu_bootstrap_request(struct emu_session *s, const struct emu_coap_req *req,
			   struct emu_coap_msg *resp);
/* Starts the queued jobs; called once per loop turn, after input was
 * handled, so the 2.04 goes out before the first operation. */
void emu_bootstrap_run(struct emu_server *srv);
void emu_bootstrap_fini(struct emu_server *srv);

#endif
