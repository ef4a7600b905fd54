#ifndef HAR_NAT_H
#define HAR_NAT_H
#include <netinet/in.h>
#include <stddef.h>

/* The network simulator's NAT table. Each client flow (the client's address
 * as the relay sees it) owns one outside socket, bound to the address the
 * server sees as the client's. Rebinding gives a flow a new outside socket
 * (a new port, or a new address in 127.0.0.0/8), as a NAT box does when its
 * mapping expires. IPv4 loopback only. */
#define HAR_NAT_MAX_FLOWS 16

struct har_nat_flow {
	unsigned id;		    /* 1, 2, ... in order of creation */
	struct sockaddr_in client;  /* inside: the client's address */
	struct sockaddr_in outside; /* what the server sees */
	int fd;			    /* socket bound to outside, or -1 */
	unsigned rebinds;	    /* how many times the mapping changed */
};

struct har_nat {
	struct har_nat_flow flows[HAR_NAT_MAX_FLOWS];
	size_t n;
	unsigned next_id;
	unsigned next_host;    /* last octet of the next 127.0.0.X handed out */
	in_addr_t public_addr; /* new flows go out from here (network order) */
};

/* Empties the table; new flows go out from 127.0.0.1 until an address
 * rebind moves the NAT's public address (as a real NAT's public address
 * change applies to the flows it opens afterwards, too); addresses for
 * rebinding start at 127.0.0.2. */
void har_nat_init(struct har_nat *nat);
/* The flow of a client address, or NULL. */
struct har_nat_flow *har_nat_by_client(struct har_nat *nat, const struct sockaddr_in *client);
/* The flow whose outside socket is fd, or NULL. */
struct har_nat_flow *har_nat_by_fd(struct har_nat *nat, int fd);
/* Adds a flow for client with its outside socket. Returns it, or NULL when
 * the table is full or the client already has a flow. */
struct har_nat_flow *har_nat_add(struct har_nat *nat, const struct sockaddr_in *client, int fd,
				 const struct sockaddr_in *outside);
/* Gives a flow a new outside socket and address; returns the old socket
 * (the caller closes it) and counts the rebind. */
int har_nat_rebind(struct har_nat_flow *flow, int fd, const struct sockaddr_in *outside);
/* Removes a flow; returns its socket for the caller to close. */
int har_nat_remove(struct har_nat *nat, struct har_nat_flow *flow);
/* The next source address for an address rebind: 127.0.0.2, .3, ... .254,
 * then around again, never 127.0.0.1 and never the address given in avoid
 * (the flow's current one; 0 = none). Network byte order. */
in_addr_t har_nat_next_address(struct har_nat *nat, in_addr_t avoid);
/* True when addr (network byte order) is in 127.0.0.0/8. */
int har_nat_is_loopback(in_addr_t addr);

#endif
