#ifndef EMU_CONTROL_H
#define EMU_CONTROL_H
#include <jansson.h>
#include <stdint.h>

struct emu_server;

/* The control Unix socket (JSON lines). */
int emu_control_open(struct emu_server *srv, const char *path);
void emu_control_close(struct emu_server *srv);
void emu_control_accept(struct emu_server *srv);
void emu_control_readable(struct emu_server *srv, uint64_t client_id);
/* Closes control clients that failed a write. */
void emu_control_sweep(struct emu_server *srv);
/* Sends an event line to every subscribed control client. */
void emu_control_publish(const json_t *event);

#endif
