/* mut_inner_mtu.c: mutant "inner-mtu": INNER_MTU is the link MTU minus the
 * IP and UDP headers only, ignoring the DTLS record expansion, so a client
 * that fills it builds datagrams that cannot be sent. */
#include "tests/mutants/mut_base.h"

#include <sys/socket.h>

/* IP + UDP header bytes for the family of the connected socket. */
static uint64_t ip_udp_overhead(sl_socket_t *sock)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = mut_ref()->get_system_socket(sock);

	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    ss.ss_family == AF_INET6)
		return 40 + 8;
	return 20 + 8;
}

/* get_option whose INNER_MTU forgets the record header, IV, tag and CID. */
static int inner_mtu_get_option(sl_socket_t *sock, sl_option_t opt, sl_option_value_t *value)
{
	sl_option_value_t mtu;
	int ret = mut_ref()->get_option(sock, opt, value);

	if (ret || opt != SL_OPT_INNER_MTU)
		return ret;
	if (mut_ref()->get_option(sock, SL_OPT_MTU, &mtu) == 0 && mtu.u64 > ip_udp_overhead(sock))
		value->u64 = mtu.u64 - ip_udp_overhead(sock);
	return 0;
}

/* The loader's entry point: the reference vtable with get_option replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-inner-mtu");
	vt.get_option = inner_mtu_get_option;
	return &vt;
}
