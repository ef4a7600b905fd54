#ifndef EMU_DEMUX_H
#define EMU_DEMUX_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "emu_faults.h"

struct emu_server;

/* The public UDP sockets (emu_demux.c). */
/* Reads what one public UDP socket holds (DTLS or plain CoAP), counts it,
 * passes it through the faults and routes it. */
void emu_demux_readable(struct emu_server *srv, enum emu_path path);
/* Routes one datagram that arrived on path's socket. */
void emu_demux_route(struct emu_server *srv, enum emu_path path, const uint8_t *buf, size_t len,
		     const struct sockaddr *from, socklen_t from_len);
/* Routes one datagram (after faults): by CID, by address, or to the cookie
 * exchange. */
void emu_demux_dispatch(struct emu_server *srv, const uint8_t *buf, size_t len,
			const struct sockaddr *from, socklen_t from_len);
/* Emits record_dropped and counts it. */
void emu_demux_drop(struct emu_server *srv, const struct sockaddr *peer, const char *reason,
		    size_t bytes);

#endif
