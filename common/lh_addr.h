#ifndef LH_ADDR_H
#define LH_ADDR_H
#include <stddef.h>
#include <sys/socket.h>

/* Longest "[v6addr]:port" text plus NUL. */
#define LH_ADDR_STRLEN 64

/* Formats an IPv4 or IPv6 socket address as "1.2.3.4:5684" or "[::1]:5684". */
const char *lh_addr_format(const struct sockaddr *sa, char *buf, size_t size);
/* Parses "host:port", "[v6]:port" or a bare host (then default_port is used)
 * into a numeric address; no DNS. Returns 0, or -1 on a malformed text. */
int lh_addr_parse(const char *text, int default_port, struct sockaddr_storage *out,
		  socklen_t *out_len);

#endif
