#ifndef EMU_UDP_H
#define EMU_UDP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Datagram I/O of the public UDP sockets in batches (emu_udp.c): reads
 * with recvmmsg, one batch per call; sends are queued during a loop turn
 * and go out together with sendmmsg when the turn ends (or the queue
 * fills). The event log is always flushed before a queued datagram is
 * sent, so no peer sees an effect before the log does. */

struct emu_server;
struct emu_udp;

/* Called for each datagram of a batch: its bytes, its real length (more
 * than cap when it was truncated) and its sender. */
typedef void (*emu_udp_datagram_fn)(struct emu_server *srv, void *ctx, const uint8_t *buf,
				    size_t len, size_t cap, const struct sockaddr *from,
				    socklen_t from_len);

/* The receive buffer asked for each public UDP socket: a fleet's burst
 * (2000 devices sending at once) must wait in the kernel, not be dropped. */
#define EMU_UDP_RCVBUF (4 * 1024 * 1024)
/* Sizes fd's buffers for bursts; says on stderr (once per socket) when the
 * system caps the receive buffer lower (net.core.rmem_max). */
void emu_udp_socket_setup(int fd, const char *what);
/* Allocates srv's queue and read buffers. Returns 0, or -1 (out of memory). */
int emu_udp_init(struct emu_server *srv);
/* Sends what is queued, then frees everything. */
void emu_udp_fini(struct emu_server *srv);
/* Reads one batch from fd (non-blocking) and hands each datagram to fn.
 * Returns how many were read (0: nothing was waiting). */
int emu_udp_read_batch(struct emu_server *srv, int fd, emu_udp_datagram_fn fn, void *ctx);
/* Queues a copy of one datagram for peer on fd. Returns 0, or -1 when it
 * could not go out (then counted in srv->stats.datagrams_out_failed). */
int emu_udp_send(struct emu_server *srv, int fd, const void *buf, size_t len,
		 const struct sockaddr *peer, socklen_t peer_len);
/* Flushes the event log, then sends every queued datagram, in order. */
void emu_udp_flush(struct emu_server *srv);
/* Datagrams queued and not yet sent (tests). */
size_t emu_udp_pending(const struct emu_server *srv);

#endif
