/* mut_packed_dropped.c: mutant "packed-dropped": over DTLS the layer
 * delivers only the first record of each datagram and throws away the
 * records packed behind it, as a layer does that treats one datagram as one
 * record (it resets its input after every read). A response and a request
 * the server sent in one datagram lose the request. TLS is left alone. */
#include <errno.h>

#include "tests/mutants/mut_base.h"

/* The DTLS sockets alive (a client has one or two at a time). */
#define MAX_DTLS 16
static sl_socket_t *dtls_socks[MAX_DTLS];

/* True when sock was created for DTLS. */
static int is_dtls(const sl_socket_t *sock)
{
	for (int i = 0; i < MAX_DTLS; i++)
		if (dtls_socks[i] == sock)
			return 1;
	return 0;
}

/* create(), remembering which sockets are DTLS. */
static int packed_dropped_create(sl_socket_t **out, const sl_config_t *config, sl_error_t *err)
{
	int ret = mut_ref()->create(out, config, err);

	if (ret || config->transport != SL_TRANSPORT_DTLS)
		return ret;
	for (int i = 0; i < MAX_DTLS; i++) {
		if (!dtls_socks[i]) {
			dtls_socks[i] = *out;
			break;
		}
	}
	return 0;
}

/* cleanup(), forgetting the socket. */
static void packed_dropped_cleanup(sl_socket_t **sock)
{
	for (int i = 0; sock && i < MAX_DTLS; i++)
		if (dtls_socks[i] == *sock)
			dtls_socks[i] = NULL;
	mut_ref()->cleanup(sock);
}

/* receive() that reads the rest of a DTLS datagram away after its first
 * record (bounded: at most 16 records). */
static int packed_dropped_receive(sl_socket_t *sock, void *buf, size_t size, size_t *out_len,
				  sl_error_t *err)
{
	unsigned char scratch[2048];
	sl_option_value_t v;
	size_t n;
	sl_error_t ignored;
	int ret = mut_ref()->receive(sock, buf, size, out_len, err);

	if (ret || !is_dtls(sock))
		return ret;
	for (int i = 0; i < 16; i++) {
		if (mut_ref()->get_option(sock, SL_OPT_HAS_BUFFERED_DATA, &v) || !v.flag)
			break;
		if (mut_ref()->receive(sock, scratch, sizeof(scratch), &n, &ignored) == ETIMEDOUT)
			break;
	}
	return 0;
}

/* The loader's entry point: the reference vtable with create, cleanup and
 * receive replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-packed-dropped");
	vt.create = packed_dropped_create;
	vt.cleanup = packed_dropped_cleanup;
	vt.receive = packed_dropped_receive;
	return &vt;
}
