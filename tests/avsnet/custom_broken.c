/* custom_broken.c: a custom avs_net backend that cannot work, to show that
 * the harness reports a broken team layer per scenario instead of breaking:
 * LWM2M_AVSNET_BROKEN=refuse   every connect fails with AVS_ECONNREFUSED
 * LWM2M_AVSNET_BROKEN=crash    connect dereferences NULL (SIGSEGV)
 * LWM2M_AVSNET_BROKEN=create   socket creation fails with AVS_EIO
 * Used by tests/avsnet/test-avsnet.sh (AVSNET_BACKEND=custom). */
#include <avsystem/commons/avs_net.h>
#include <avsystem/commons/avs_socket.h>
#include <avsystem/commons/avs_socket_v_table.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const avs_net_socket_v_table_t *const operations;
	int crash;
} broken_socket_t;

/* Nothing to set up: this backend has no TLS library. */
avs_error_t _avs_net_initialize_global_ssl_state(void)
{
	return AVS_OK;
}

/* Nothing to tear down. */
void _avs_net_cleanup_global_ssl_state(void)
{
}

/* refuse: like a server that is not there; crash: a layer bug. */
static avs_error_t broken_connect(avs_net_socket_t *s, const char *host, const char *port)
{
	volatile int *nowhere = NULL;

	(void)host;
	(void)port;
	if (((broken_socket_t *)s)->crash)
		return avs_errno((avs_errno_t)*nowhere);
	return avs_errno(AVS_ECONNREFUSED);
}

/* Frees the socket (cleanup must work even for a broken layer). */
static avs_error_t broken_cleanup(avs_net_socket_t **s)
{
	free(*s);
	*s = NULL;
	return AVS_OK;
}

/* Nothing to close: it never connected. */
static avs_error_t broken_close(avs_net_socket_t *s)
{
	(void)s;
	return AVS_OK;
}

static const avs_net_socket_v_table_t broken_vtable = {
    .connect = broken_connect,
    .close = broken_close,
    .cleanup = broken_cleanup,
};

/* create: fails in "create" mode, else a socket that cannot connect. */
static avs_error_t broken_create(avs_net_socket_t **out)
{
	const char *mode = getenv("LWM2M_AVSNET_BROKEN");
	broken_socket_t *s;

	if (mode && strcmp(mode, "create") == 0)
		return avs_errno(AVS_EIO);
	s = calloc(1, sizeof(*s));
	if (!s)
		return avs_errno(AVS_ENOMEM);
	*(const avs_net_socket_v_table_t **)&s->operations = &broken_vtable;
	s->crash = mode && strcmp(mode, "crash") == 0;
	*out = (avs_net_socket_t *)s;
	return AVS_OK;
}

/* avs_net's entry points for a custom backend: DTLS and TLS alike. */
avs_error_t _avs_net_create_dtls_socket(avs_net_socket_t **out, const void *config)
{
	(void)config;
	return broken_create(out);
}

/* The same for TLS over TCP. */
avs_error_t _avs_net_create_ssl_socket(avs_net_socket_t **out, const void *config)
{
	(void)config;
	return broken_create(out);
}
