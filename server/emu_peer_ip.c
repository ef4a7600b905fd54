/* Live DTLS sessions per peer IP; see emu_peer_ip.h. */
#include "emu_peer_ip.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "emu_demux.h"
#include "emu_server.h"
#include "lh_addr.h"
#include "lh_event.h"

#define EMU_PEER_IP_HINT "the client's port probably changed without CID"

/* The hash key: address family and IP bytes (v4 in the first 4), zeroed. */
struct emu_peer_ip_key {
	uint8_t family;
	uint8_t ip[16];
};

struct emu_peer_ip {
	struct emu_peer_ip_key key;
	size_t sessions;
	UT_hash_handle hh;
};

/* Fills key from sa; 0, or -1 when sa is not IP. */
static int make_key(const struct sockaddr *sa, struct emu_peer_ip_key *key)
{
	memset(key, 0, sizeof(*key));
	key->family = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(key->ip, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key->ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		return -1;
	return 0;
}

/* The entry of sa's IP, or NULL. */
static struct emu_peer_ip *find(const struct emu_server *srv, const struct sockaddr *sa)
{
	struct emu_peer_ip_key key;
	struct emu_peer_ip *e = NULL;
	if (make_key(sa, &key) == 0)
		HASH_FIND(hh, srv->peer_ips, &key, sizeof(key), e);
	return e;
}

void emu_peer_ip_add(struct emu_server *srv, const struct sockaddr *sa)
{
	struct emu_peer_ip *e = find(srv, sa);
	if (!e) {
		/* Out of memory only costs the hint. */
		if (!(e = calloc(1, sizeof(*e))) || make_key(sa, &e->key) < 0) {
			free(e);
			return;
		}
		HASH_ADD(hh, srv->peer_ips, key, sizeof(e->key), e);
	}
	e->sessions++;
}

void emu_peer_ip_remove(struct emu_server *srv, const struct sockaddr *sa)
{
	struct emu_peer_ip *e = find(srv, sa);
	if (!e || --e->sessions > 0)
		return;
	HASH_DEL(srv->peer_ips, e);
	free(e);
}

size_t emu_peer_ip_count(const struct emu_server *srv, const struct sockaddr *sa)
{
	const struct emu_peer_ip *e = find(srv, sa);
	return e ? e->sessions : 0;
}

void emu_peer_ip_drop_unknown(struct emu_server *srv, const struct sockaddr *peer, size_t bytes)
{
	char addr[LH_ADDR_STRLEN];
	if (emu_peer_ip_count(srv, peer) == 0) {
		emu_demux_drop(srv, peer, "unknown_peer", bytes);
		return;
	}
	srv->stats.records_dropped++;
	lh_event_emitf("record_dropped", "{s:s, s:s, s:I, s:s}", "peer",
		       lh_addr_format(peer, addr, sizeof(addr)), "reason", "unknown_peer", "bytes",
		       (json_int_t)bytes, "hint", EMU_PEER_IP_HINT);
}

void emu_peer_ip_fini(struct emu_server *srv)
{
	struct emu_peer_ip *e, *tmp;
	HASH_ITER(hh, srv->peer_ips, e, tmp)
	{
		HASH_DEL(srv->peer_ips, e);
		free(e);
	}
}
