#ifndef HAR_NETSIM_H
#define HAR_NETSIM_H
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "har_nat.h"
#include "har_pcap.h"
#include "har_rng.h"
#include "har_tcprelay.h"
#include "har_timeline.h"

/* The network simulator: a UDP relay on loopback between the client shim
 * and the emulator. The client talks to the relay's front socket; each
 * client flow leaves through its own NAT socket (har_nat). Impairments are
 * drawn from a seeded generator, every datagram's fate is a "netsim" event
 * in the timeline, and what crosses to the server goes to a pcap file. */

enum { HAR_NS_C2S, HAR_NS_S2C };

struct har_ns_profile {
	double loss;	/* probability a datagram is dropped */
	double dup;	/* probability it is sent twice */
	double reorder; /* probability it is held back behind the next one */
	int delay_ms;	/* added latency */
	int jitter_ms;	/* plus uniform 0..jitter_ms */
	int mtu;	/* larger datagrams are dropped; 0 = no limit */
};

struct har_ns_pkt {
	int64_t due; /* monotonic ms */
	int dir;
	unsigned flow;
	int held; /* reordered: waits for the next datagram (or due) */
	size_t len;
	unsigned char *data;
};

#define HAR_NS_QUEUE_MAX 512

/* A pack step: after `skip` datagrams one way, the next `want` of one flow
 * are held and leave as one datagram, their bytes in order (DTLS records
 * carry their own lengths, so a peer reads them one after the other). */
struct har_ns_pack {
	int skip;	    /* datagrams still to let through first */
	int want;	    /* datagrams to join; 0: no pack step pending */
	int n;		    /* joined so far */
	int max_ms;	    /* the first one waits at most this long */
	unsigned flow;	    /* the flow being packed */
	int64_t due;	    /* monotonic ms: sent with what it has by then */
	size_t len;	    /* bytes joined */
	unsigned char *buf; /* HAR_NS_PACK_MAX bytes, allocated on first use */
};

#define HAR_NS_PACK_MAX 65507 /* the largest UDP payload over IPv4 */

struct har_netsim {
	int front_fd;		   /* the client's server address; -1 while port-closed */
	struct sockaddr_in front;  /* its address */
	struct sockaddr_in server; /* the emulator's DTLS address */
	struct har_nat nat;
	struct har_ns_profile prof[2];
	int blackhole;
	int port_closed;
	struct har_rng rng;
	struct har_ns_pkt queue[HAR_NS_QUEUE_MAX];
	size_t nq;
	struct har_pcap *pcap;
	struct har_timeline *tl;
	struct har_tcprelay tcp; /* TLS over TCP, on the same port number */
	int tcp_open;
	int corrupt_left[2];	    /* datagrams still to corrupt, per direction */
	unsigned char *last_c2s;    /* copy of the last datagram sent to the server */
	size_t last_c2s_len;	    /* its length (0: none yet) */
	int spoof_fd;		    /* the spoofed source's socket, or -1 */
	struct sockaddr_in spoof;   /* its address */
	struct har_ns_pack pack[2]; /* per direction */
};

/* The most sockets har_netsim_pollfds fills in. */
#define HAR_NETSIM_MAX_FDS (1 + HAR_NAT_MAX_FLOWS + 1 + 2 * HAR_TCP_MAX_CONNS + 1)

/* Opens the front socket on 127.0.0.1 (ephemeral port) toward server
 * ("127.0.0.1:port"), seeds the generator and creates the pcap file (NULL:
 * none). Returns 0, or -1 with err filled. */
int har_netsim_open(struct har_netsim *ns, const char *server, uint64_t seed, const char *pcap_path,
		    struct har_timeline *tl, char *err, size_t errlen);
/* Adds the TCP relay on the front's port number towards tls_server.
 * Returns 0, or -1 with err filled. */
int har_netsim_open_tcp(struct har_netsim *ns, const char *tls_server, char *err, size_t errlen);
/* Points the relay at the server's (new) address "127.0.0.1:port".
 * Returns 0, or -1 with err filled. */
int har_netsim_set_server(struct har_netsim *ns, const char *server, char *err, size_t errlen);
/* The address the client should use as its server ("127.0.0.1:port"). */
void har_netsim_front_text(const struct har_netsim *ns, char *out, size_t size);
/* Fills pollfds with the sockets to watch; returns how many (<= max). */
int har_netsim_pollfds(const struct har_netsim *ns, struct pollfd *fds, int max);
/* Handles readable sockets among fds (as filled by har_netsim_pollfds). */
void har_netsim_ready(struct har_netsim *ns, const struct pollfd *fds, int n);
/* Milliseconds until the next queued datagram is due (-1: none queued). */
int har_netsim_next_due(const struct har_netsim *ns);
/* Sends the queued datagrams that are due. */
void har_netsim_run_due(struct har_netsim *ns);
/* Flips one byte (XOR with a non-zero value) among the last 8 bytes of d
 * (where a DTLS record's MAC or AEAD tag is), chosen by rng. Returns the
 * offset changed, or -1 when len is 0. */
long har_netsim_corrupt_tail(unsigned char *d, size_t len, struct har_rng *rng);
/* Applies a change: {"rebind":"port"|"address","address":"127.0.0.x",
 * "loss":..,"dup":..,"reorder":..,"delay_ms":..,"jitter_ms":..,"mtu":..,
 * "direction":"both"|"c2s"|"s2c","blackhole":bool,"port_closed":bool,
 * "corrupt":{"direction":"c2s"|"s2c","count":N},
 * "spoof":{"from":"127.x.y.z","copy":"last_c2s"},
 * "pack":{"direction":"c2s"|"s2c","count":N,"skip":N,"max_ms":N}}.
 * Returns 0, or -1 with err filled. */
int har_netsim_apply(struct har_netsim *ns, const json_t *change, char *err, size_t errlen);
/* Closes every socket and the pcap file; drops what is queued. */
void har_netsim_close(struct har_netsim *ns);

#endif
