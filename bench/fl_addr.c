/* fl_addr: see fl_addr.h. */
#include "fl_addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* "[::1]" -> "::1" into buf; anything else copied. -1 when too long. */
static int strip_brackets(const char *s, char *buf, size_t size)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= size)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

/* See fl_addr.h. A name is looked up only when the caller allows it: the
 * server may be a host name, a source address never is. */
int fl_addr_parse(const char *s, int may_resolve, struct fl_addr *a, char *why, size_t why_len)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
	struct addrinfo *res = NULL;
	char host[256];
	int ret = -1, e;
	memset(a, 0, sizeof(*a));
	if (strip_brackets(s, host, sizeof(host)) < 0) {
		snprintf(why, why_len, "empty or too long");
		return -1;
	}
	/* A literal first, without AI_ADDRCONFIG: that flag drops IPv6 results
	 * on a host whose only IPv6 address is ::1, and ::1 is what tests use. */
	hints.ai_flags = AI_NUMERICHOST;
	e = getaddrinfo(host, NULL, &hints, &res);
	if (e != 0 && may_resolve) {
		hints.ai_flags = AI_ADDRCONFIG;
		e = getaddrinfo(host, NULL, &hints, &res);
	}
	if (e != 0 || !res || res->ai_addrlen > sizeof(a->ss)) {
		snprintf(why, why_len, "%s",
			 may_resolve ? "not an IPv4 or IPv6 address, and no host has that name"
				     : "not a numeric IPv4 or IPv6 address");
		goto exit;
	}
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	ret = 0;
exit:
	if (res)
		freeaddrinfo(res);
	return ret;
}

/* See fl_addr.h. */
int fl_addr_is_v4_loopback(const struct fl_addr *a)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
	return a->len && a->ss.ss_family == AF_INET && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
}

/* See fl_addr.h. */
int fl_addr_is_loopback(const struct fl_addr *a)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
	if (fl_addr_is_v4_loopback(a))
		return 1;
	return a->len && a->ss.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/* See fl_addr.h. */
void fl_addr_set_port(struct fl_addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
	else if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

/* See fl_addr.h: what a pool socket's recvfrom gives, against the server. */
int fl_addr_equal(const struct fl_addr *a, const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family != a->ss.ss_family)
		return 0;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
		const struct sockaddr_in *y = (const struct sockaddr_in *)sa;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)sa;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

/* See fl_addr.h. */
void fl_addr_text(const struct fl_addr *a, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	if (!port)
		snprintf(buf, size, "%s", host);
	else if (a->ss.ss_family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", host, port);
	else
		snprintf(buf, size, "%s:%u", host, port);
}

/* See fl_addr.h. */
const char *fl_addr_family(const struct fl_addr *a)
{
	return a->ss.ss_family == AF_INET6 ? "IPv6" : "IPv4";
}
