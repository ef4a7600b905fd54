#ifndef EMU_HTTP_H
#define EMU_HTTP_H
#include <jansson.h>
#include <stdint.h>

/* The HTTP API and web dashboard (--http, docs/protocol.md "HTTP API"):
 * libmicrohttpd driven from the emulator's own epoll loop (its epoll fd
 * sits in the server's, MHD_run when it is readable, MHD_get_timeout bounds
 * the wait), so no thread ever touches server state. The API is a second
 * front end on the control commands (emu_control_run): the same code
 * answers the control socket and HTTP. Events reach HTTP clients through
 * the same lh_event sink as control subscribers (emu_sink.c). */

struct emu_server;

/* Starts the daemon on cfg->http when set. Returns 0, or -1 after printing
 * what failed. */
int emu_http_open(struct emu_server *srv);
/* Stops the daemon and drops every client. */
void emu_http_close(struct emu_server *srv);
/* MHD's epoll fd is readable: let it work. */
void emu_http_readable(struct emu_server *srv);
/* How long the loop may wait for MHD's sake (ms), or -1 for no limit. */
int64_t emu_http_wait_ms(struct emu_server *srv);
/* Once a turn: answers requests whose wait ran out, keeps event streams
 * alive, reports dropped clients, and runs MHD when a connection resumed. */
void emu_http_tick(struct emu_server *srv, int64_t now);
/* Every event: to the event streams and the requests waiting for answers. */
void emu_http_publish(struct emu_server *srv, const json_t *event);

#endif
