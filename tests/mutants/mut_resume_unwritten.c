/* mut_resume_unwritten.c: mutant "resume-unwritten": the caller's session
 * resumption buffer is read at the first connect but never written: the
 * layer keeps its session (or CID context) in a private copy, so in-process
 * reconnects still resume while a rebooted device finds nothing to resume. */
#include "tests/mutants/mut_base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The socket the shim sees: the reference socket and the two buffers. */
typedef struct {
	sl_socket_t *inner;
	unsigned char *caller_buf; /* the caller's buffer: never written */
	unsigned char *shadow;	   /* what the reference layer writes instead */
	size_t size;
	int loaded; /* the caller's buffer was read once */
} unwritten_t;

/* The wrapper behind an opaque socket handle. */
static unwritten_t *wrap(sl_socket_t *sock)
{
	return (unwritten_t *)(void *)sock;
}

/* Frees the wrapper, the reference socket and the private buffer. */
static void unwritten_cleanup(sl_socket_t **sockp)
{
	unwritten_t *w = sockp ? wrap(*sockp) : NULL;

	if (!w)
		return;
	mut_ref()->cleanup(&w->inner);
	free(w->shadow);
	free(w);
	*sockp = NULL;
}

/* create() with the reference layer pointed at a private buffer. */
static int unwritten_create(sl_socket_t **out, const sl_config_t *config, sl_error_t *err)
{
	sl_config_t cfg = *config;
	unwritten_t *w = calloc(1, sizeof(*w));
	int ret = ENOMEM;

	*out = NULL;
	if (!w)
		goto err;
	w->caller_buf = config->resumption_buffer;
	w->size = config->resumption_buffer ? config->resumption_buffer_size : 0;
	if (w->size && !(w->shadow = calloc(1, w->size)))
		goto err;
	cfg.resumption_buffer = w->shadow;
	cfg.resumption_buffer_size = w->size;
	ret = mut_ref()->create(&w->inner, &cfg, err);
	if (ret)
		goto err;
	*out = (sl_socket_t *)(void *)w;
	return 0;
err:
	if (w)
		free(w->shadow);
	free(w);
	return ret;
}

/* connect: the caller's buffer is read (once), as a correct layer would. */
static int unwritten_connect(sl_socket_t *sock, const char *host, const char *port, sl_error_t *err)
{
	unwritten_t *w = wrap(sock);

	if (w->size && !w->loaded)
		memcpy(w->shadow, w->caller_buf, w->size);
	w->loaded = 1;
	return mut_ref()->connect(w->inner, host, port, err);
}

/* Pass-through: send. */
static int unwritten_send(sl_socket_t *sock, const void *buf, size_t len, sl_error_t *err)
{
	return mut_ref()->send(wrap(sock)->inner, buf, len, err);
}

/* Pass-through: receive. */
static int unwritten_receive(sl_socket_t *sock, void *buf, size_t size, size_t *out_len,
			     sl_error_t *err)
{
	return mut_ref()->receive(wrap(sock)->inner, buf, size, out_len, err);
}

/* Pass-through: close (the reference layer saves into the private copy). */
static int unwritten_close(sl_socket_t *sock)
{
	return mut_ref()->close(wrap(sock)->inner);
}

/* Pass-through: the system socket. */
static int unwritten_get_system_socket(sl_socket_t *sock)
{
	return mut_ref()->get_system_socket(wrap(sock)->inner);
}

/* Pass-through: get_option. */
static int unwritten_get_option(sl_socket_t *sock, sl_option_t opt, sl_option_value_t *value)
{
	return mut_ref()->get_option(wrap(sock)->inner, opt, value);
}

/* Pass-through: set_option. */
static int unwritten_set_option(sl_socket_t *sock, sl_option_t opt, const sl_option_value_t *value)
{
	return mut_ref()->set_option(wrap(sock)->inner, opt, value);
}

/* The loader's entry point: every entry goes through the wrapper socket. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-resume-unwritten");
	vt.create = unwritten_create;
	vt.connect = unwritten_connect;
	vt.send = unwritten_send;
	vt.receive = unwritten_receive;
	vt.close = unwritten_close;
	vt.cleanup = unwritten_cleanup;
	vt.get_system_socket = unwritten_get_system_socket;
	vt.get_option = unwritten_get_option;
	vt.set_option = unwritten_set_option;
	return &vt;
}
