#ifndef HAR_TCPRELAY_H
#define HAR_TCPRELAY_H
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "har_pcap.h"
#include "har_timeline.h"

/* The network simulator's TCP side (CoAP over TLS): a relay that accepts
 * the client's connections and opens one to the server for each. Like a
 * NAT, it passes on a half-close (a FIN one way, the other way still
 * open) and a reset (a RST reaches the other side as a RST). A NAT rebind
 * resets the connections (a TCP flow cannot survive a new source address),
 * a blackhole swallows the bytes, port-closed refuses new connections.
 * Every chunk relayed or dropped is a "netsim" event, and the stream goes
 * to the pcap file with synthesized TCP headers. Loss, reordering and
 * duplication do not apply: the kernel's TCP hides them. */
#define HAR_TCP_MAX_CONNS 8
#define HAR_TCP_BUF 65536

struct har_tcp_pipe {
	unsigned char buf[HAR_TCP_BUF];
	size_t len;   /* bytes read, not yet written on */
	uint32_t seq; /* next sequence number in the capture */
	int eof;      /* the sending side closed its half (FIN read) */
	int shut;     /* and the FIN was passed on (shutdown of the receiver) */
};

struct har_tcp_conn {
	unsigned id;
	int cfd;		    /* accepted from the client */
	int sfd;		    /* towards the server */
	int connecting;		    /* sfd's connect is in progress */
	struct sockaddr_in client;  /* the client's address */
	struct sockaddr_in outside; /* sfd's local address: what the server sees */
	struct har_tcp_pipe q[2];   /* [0] client to server, [1] server to client */
};

struct har_tcprelay {
	int lfd; /* listening socket; -1 while port-closed */
	struct sockaddr_in front;
	struct sockaddr_in server;
	struct har_tcp_conn *conns[HAR_TCP_MAX_CONNS];
	size_t n;
	unsigned next_id;
	int blackhole;
	int port_closed;
	struct har_timeline *tl;
	struct har_pcap *pcap; /* shared with the UDP side; may be NULL */
};

/* Listens on 127.0.0.1:port (0 = any) and relays to server ("host:port").
 * Returns 0, or -1 with err filled. */
int har_tcprelay_open(struct har_tcprelay *r, int port, const char *server, struct har_timeline *tl,
		      struct har_pcap *pcap, char *err, size_t errlen);
/* Fills pollfds with what to watch; returns how many (<= max). */
int har_tcprelay_pollfds(const struct har_tcprelay *r, struct pollfd *fds, int max);
/* True when fd is one of the relay's sockets. */
int har_tcprelay_owns(const struct har_tcprelay *r, int fd);
/* Handles the relay's ready sockets among fds. */
void har_tcprelay_ready(struct har_tcprelay *r, const struct pollfd *fds, int n);
/* Resets every connection (both sides get a RST), as a NAT rebind does. */
void har_tcprelay_reset_all(struct har_tcprelay *r, const char *why);
/* Closes or reopens the listening socket. Returns 0, or -1 with err. */
int har_tcprelay_port_closed(struct har_tcprelay *r, int closed, char *err, size_t errlen);
/* Closes everything. */
void har_tcprelay_close(struct har_tcprelay *r);

#endif
