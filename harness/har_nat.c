#include "har_nat.h"

#include <string.h>

/* A fresh table per scenario: flows never leak between runs. */
void har_nat_init(struct har_nat *nat)
{
	memset(nat, 0, sizeof(*nat));
	nat->next_id = 1;
	nat->next_host = 2;
	nat->public_addr = htonl(INADDR_LOOPBACK);
	for (size_t i = 0; i < HAR_NAT_MAX_FLOWS; i++)
		nat->flows[i].fd = -1;
}

/* Same IPv4 address and port. */
static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/* Client datagrams find their flow by the address they come from. */
struct har_nat_flow *har_nat_by_client(struct har_nat *nat, const struct sockaddr_in *client)
{
	for (size_t i = 0; i < nat->n; i++)
		if (same_addr(&nat->flows[i].client, client))
			return &nat->flows[i];
	return NULL;
}

/* Server datagrams find their flow by the socket they arrive on. */
struct har_nat_flow *har_nat_by_fd(struct har_nat *nat, int fd)
{
	for (size_t i = 0; fd >= 0 && i < nat->n; i++)
		if (nat->flows[i].fd == fd)
			return &nat->flows[i];
	return NULL;
}

/* Bounded table: a flood of client ports cannot exhaust sockets. */
struct har_nat_flow *har_nat_add(struct har_nat *nat, const struct sockaddr_in *client, int fd,
				 const struct sockaddr_in *outside)
{
	if (nat->n == HAR_NAT_MAX_FLOWS || har_nat_by_client(nat, client))
		return NULL;
	struct har_nat_flow *f = &nat->flows[nat->n++];
	f->id = nat->next_id++;
	f->client = *client;
	f->outside = *outside;
	f->fd = fd;
	f->rebinds = 0;
	return f;
}

/* The flow keeps its client side; only what the server sees changes. */
int har_nat_rebind(struct har_nat_flow *flow, int fd, const struct sockaddr_in *outside)
{
	int old = flow->fd;
	flow->fd = fd;
	flow->outside = *outside;
	flow->rebinds++;
	return old;
}

/* Keeps the table dense so lookups stay simple. */
int har_nat_remove(struct har_nat *nat, struct har_nat_flow *flow)
{
	size_t i = (size_t)(flow - nat->flows);
	int fd = flow->fd;
	if (i >= nat->n)
		return -1;
	memmove(&nat->flows[i], &nat->flows[i + 1], (nat->n - i - 1) * sizeof(*flow));
	nat->n--;
	nat->flows[nat->n].fd = -1;
	return fd;
}

/* Rotates through 127.0.0.0/8 so each address rebind is a new source. */
in_addr_t har_nat_next_address(struct har_nat *nat, in_addr_t avoid)
{
	for (int tries = 0; tries < 2; tries++) {
		if (nat->next_host < 2 || nat->next_host > 254)
			nat->next_host = 2;
		in_addr_t a = htonl((127u << 24) | nat->next_host++);
		if (a != avoid)
			return a;
	}
	return htonl((127u << 24) | 2u);
}

/* Traffic must stay on 127.0.0.0/8. */
int har_nat_is_loopback(in_addr_t addr)
{
	return (ntohl(addr) >> 24) == 127;
}
