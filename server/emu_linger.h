#ifndef EMU_LINGER_H
#define EMU_LINGER_H
#include <stddef.h>
#include <stdint.h>

/* TLS connections closed after a fatal alert linger a while before their
 * close(): their input is read and discarded until the peer's EOF, so the
 * kernel never answers unread input with a RST that could overtake the
 * alert (see emu_tls_close). They linger in the event loop, not in a
 * blocking wait, so one failed handshake never stalls the other clients.
 * The list lives in struct emu_server (srv->linger). */

struct emu_server;

#define EMU_LINGER_MS 200 /* longest a connection lingers (wall time, lh_time_real_ms) */
#define EMU_LINGER_MAX 64 /* beyond this many, a connection is closed at once */

struct emu_lingering {
	struct {
		int fd;
		int64_t deadline;
	} fds[EMU_LINGER_MAX];
	size_t count;
};

/* Takes fd over (already shut down for writing): it is closed at the peer's
 * EOF or error, or EMU_LINGER_MS from now. Returns 0, or -1 when the list
 * is full or epoll refuses it: fd then stays the caller's. */
int emu_linger_add(struct emu_server *srv, int fd);
/* The lingering fd is readable: discards what it holds, closes it at EOF. */
void emu_linger_readable(struct emu_server *srv, uint64_t fd);
/* Closes the lingering fds whose time is up (monotonic ms now). */
void emu_linger_expire(struct emu_server *srv, int64_t now);
/* Closes every lingering fd (shutdown, fuzzers between inputs). */
void emu_linger_close_all(struct emu_server *srv);
/* How many fds linger now. */
size_t emu_linger_count(const struct emu_server *srv);

#endif
