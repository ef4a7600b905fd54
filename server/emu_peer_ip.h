#ifndef EMU_PEER_IP_H
#define EMU_PEER_IP_H
#include <stddef.h>
#include <sys/socket.h>

/* How many live DTLS sessions each peer IP has (any port), in a small hash
 * keyed by the IP bytes: a datagram that no session claims, from the IP of
 * a live session, most likely comes from a client whose NAT binding or
 * socket changed its port without CID, and record_dropped says so (hint)
 * in O(1). */

struct emu_server;

/* A DTLS session at sa appeared / went away (counts per IP). */
void emu_peer_ip_add(struct emu_server *srv, const struct sockaddr *sa);
void emu_peer_ip_remove(struct emu_server *srv, const struct sockaddr *sa);
/* How many live DTLS sessions have sa's IP. */
size_t emu_peer_ip_count(const struct emu_server *srv, const struct sockaddr *sa);
/* Drops a datagram from an unknown peer (record_dropped unknown_peer), with
 * a hint when its IP has a live session. */
void emu_peer_ip_drop_unknown(struct emu_server *srv, const struct sockaddr *peer, size_t bytes);
/* Frees the table. */
void emu_peer_ip_fini(struct emu_server *srv);

#endif
