#ifndef EMU_CONTROL_H
#define EMU_CONTROL_H
#include <jansson.h>
#include <stdint.h>

struct emu_server;

/* The control Unix socket (JSON lines). While it is open, every event also
 * goes to the clients that subscribed (an lh_event sink). */
int emu_control_open(struct emu_server *srv, const char *path);
void emu_control_close(struct emu_server *srv);
void emu_control_accept(struct emu_server *srv);
void emu_control_readable(struct emu_server *srv, uint64_t client_id);
/* Sends an event to the clients that subscribed. */
void emu_control_publish(struct emu_server *srv, const json_t *event);
/* Closes control clients that failed a write. */
void emu_control_sweep(struct emu_server *srv);

/* Checked before start: --control may only take a free path or replace a
 * stale socket of a dead emulator (a socket nobody listens on), never a
 * file, folder, link or live socket. Returns 0, or -1 after printing what
 * is at the path and what to do. */
int emu_control_check(const char *path);

#endif
