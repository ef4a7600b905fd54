/* fl_addr: the fleet's socket addresses, IPv4 or IPv6. lwm2m-load talks to
 * the LwM2M server at whatever address the user gives: loopback in the
 * tests and benchmarks, a server in another network namespace, on the LAN
 * or in a lab. Only the source side differs: on IPv4 loopback the devices
 * spread over many 127.x addresses (fl_net.c); elsewhere they send from one
 * address (given, or the one the kernel's route picks). */
#ifndef FL_ADDR_H
#define FL_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A socket address of either family; len 0 means none was given. */
struct fl_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* A numeric IPv4 or IPv6 address ("[::1]" too) into a, port 0; with
 * may_resolve, a host name as well (its first address). 0, or -1 with the
 * reason in why. */
int fl_addr_parse(const char *s, int may_resolve, struct fl_addr *a, char *why, size_t why_len);
/* 127.0.0.0/8 or ::1. */
int fl_addr_is_loopback(const struct fl_addr *a);
/* In 127.0.0.0/8: the one case where each device can have its own address. */
int fl_addr_is_v4_loopback(const struct fl_addr *a);
void fl_addr_set_port(struct fl_addr *a, uint16_t port);
/* Same family, address and port. */
int fl_addr_equal(const struct fl_addr *a, const struct sockaddr *sa, socklen_t len);
/* "127.0.0.1:5684", "[::1]:5684"; without ":port" when the port is 0. */
void fl_addr_text(const struct fl_addr *a, char *buf, size_t size);
/* "IPv4" or "IPv6". */
const char *fl_addr_family(const struct fl_addr *a);

#endif
