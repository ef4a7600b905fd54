#ifndef EMU_LIMITS_H
#define EMU_LIMITS_H
#include <stdint.h>

/* Bounds on what peers can make the emulator hold ($.limits): each one
 * counted here, each refusal reported (a `limit_reached` event, at most one
 * per limit and second, so a flood does not flood the log too). */

struct emu_server;

enum emu_limit {
	EMU_LIMIT_HANDSHAKES,	   /* DTLS and TLS handshakes in progress */
	EMU_LIMIT_TLS_CONNECTIONS, /* TLS/TCP connections open */
	EMU_LIMIT_CONTROL_CLIENTS, /* control socket clients connected */
	EMU_LIMIT_BLOCK1_BYTES,	   /* Block1 reassembly memory, all sessions */
	EMU_LIMIT_COUNT
};

struct emu_limits {
	uint64_t used[EMU_LIMIT_COUNT];
	int64_t reported_ms[EMU_LIMIT_COUNT];
};

/* Takes n of limit l for what (a few words for the event). Returns 0, or -1
 * (nothing taken) when that would exceed the configured bound. */
int emu_limit_take(struct emu_server *srv, enum emu_limit l, uint64_t n, const char *what);
/* Gives n of l back. */
void emu_limit_give(struct emu_server *srv, enum emu_limit l, uint64_t n);
/* The configured bound of l. */
uint64_t emu_limit_max(const struct emu_server *srv, enum emu_limit l);
/* Reports a refusal of l that was not counted here (requests per device). */
void emu_limit_report(struct emu_server *srv, const char *name, uint64_t max, const char *what);

#endif
