#ifndef EMU_BOOTSTRAP_H
#define EMU_BOOTSTRAP_H

struct emu_server;

/* LwM2M Bootstrap: POST /bs?ep=NAME is answered 2.04 (4.00 without ep),
 * then the server performs the configured operations ($.bootstrap.writes:
 * writes/deletes on /0 and /1, ...) and Bootstrap-Finish (POST /bs) on that
 * client's session, in order (libcoap keeps one CON in flight, NSTART 1). */

/* Adds the /bs resource. Returns 0 or -1. */
int emu_bootstrap_init(struct emu_server *srv);
/* Runs the operations queued by Bootstrap-Requests; called after libcoap
 * processed input (never from inside a handler, so 2.04 goes out first). */
void emu_bootstrap_run(struct emu_server *srv);
void emu_bootstrap_fini(struct emu_server *srv);

#endif
