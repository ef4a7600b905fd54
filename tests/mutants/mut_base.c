/* mut_base.c: the reference vtable and the helpers mutants share. */
#include "tests/mutants/mut_base.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_shim/layer_mbedtls.h"

/* One place that names the renamed reference entry. */
const sl_vtable_t *mut_ref(void)
{
	return mut_ref_layer_entry();
}

/* A mutant starts as an exact copy of the reference layer. */
void mut_vtable_init(sl_vtable_t *vt, const char *name)
{
	*vt = *mut_ref();
	vt->name = name;
}

/* Numeric hosts never carry SNI; mutants that strip names need to know. */
int mut_is_ip_literal(const char *host)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

/* The hooks of the one wrapping mutant this shared object is. */
static const mut_wrap_hooks_t *wrap_hooks;

/* The wrapper behind an opaque socket handle. */
static mut_wrap_t *wrap(sl_socket_t *sock)
{
	return (mut_wrap_t *)(void *)sock;
}

/* Public: a mutant's own entries reach the reference socket through it. */
mut_wrap_t *mut_wrap_of(sl_socket_t *sock)
{
	return wrap(sock);
}

/* Runs the mutant's after-op hook; returns ret unchanged. */
static int after(mut_wrap_t *w, mut_op_t op, int ret)
{
	if (wrap_hooks->after_op)
		wrap_hooks->after_op(w, op);
	return ret;
}

/* Frees the wrapper, the reference socket and the private buffer. */
static void wrap_cleanup(sl_socket_t **sockp)
{
	mut_wrap_t *w = sockp ? wrap(*sockp) : NULL;

	if (!w)
		return;
	mut_ref()->cleanup(&w->inner);
	free(w->shadow);
	free(w);
	*sockp = NULL;
}

/* create() around the reference socket; with shadow set, the reference
 * layer gets a private buffer of the caller's size instead of the caller's. */
static int wrap_create(sl_socket_t **out, const sl_config_t *config, sl_error_t *err)
{
	sl_config_t cfg = *config;
	mut_wrap_t *w = calloc(1, sizeof(*w));
	int ret = ENOMEM;

	*out = NULL;
	if (!w)
		goto err;
	w->caller_buf = config->resumption_buffer;
	w->size = config->resumption_buffer ? config->resumption_buffer_size : 0;
	if (wrap_hooks->shadow && w->size) {
		if (!(w->shadow = calloc(1, w->size)))
			goto err;
		cfg.resumption_buffer = w->shadow;
	}
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

/* connect with the mutant's hooks on either side. */
static int wrap_connect(sl_socket_t *sock, const char *host, const char *port, sl_error_t *err)
{
	mut_wrap_t *w = wrap(sock);

	if (wrap_hooks->before_connect)
		wrap_hooks->before_connect(w);
	w->connects++;
	return after(w, MUT_OP_CONNECT, mut_ref()->connect(w->inner, host, port, err));
}

/* Pass-through: send (a fatal error may change the buffer). */
static int wrap_send(sl_socket_t *sock, const void *buf, size_t len, sl_error_t *err)
{
	return after(wrap(sock), MUT_OP_SEND, mut_ref()->send(wrap(sock)->inner, buf, len, err));
}

/* Pass-through: receive (a fatal alert may change the buffer). */
static int wrap_receive(sl_socket_t *sock, void *buf, size_t size, size_t *out_len, sl_error_t *err)
{
	mut_wrap_t *w = wrap(sock);

	return after(w, MUT_OP_RECEIVE, mut_ref()->receive(w->inner, buf, size, out_len, err));
}

/* Pass-through: close (the reference layer saves the session or context). */
static int wrap_close(sl_socket_t *sock)
{
	return after(wrap(sock), MUT_OP_CLOSE, mut_ref()->close(wrap(sock)->inner));
}

/* Pass-through: the system socket. */
static int wrap_get_system_socket(sl_socket_t *sock)
{
	return mut_ref()->get_system_socket(wrap(sock)->inner);
}

/* Pass-through: get_option. */
static int wrap_get_option(sl_socket_t *sock, sl_option_t opt, sl_option_value_t *value)
{
	return mut_ref()->get_option(wrap(sock)->inner, opt, value);
}

/* Pass-through: set_option. */
static int wrap_set_option(sl_socket_t *sock, sl_option_t opt, const sl_option_value_t *value)
{
	return mut_ref()->set_option(wrap(sock)->inner, opt, value);
}

/* Every entry through the wrapper: a mutant changes only its hooks. */
void mut_wrap_vtable_init(sl_vtable_t *vt, const char *name, const mut_wrap_hooks_t *hooks)
{
	mut_vtable_init(vt, name);
	wrap_hooks = hooks;
	vt->create = wrap_create;
	vt->connect = wrap_connect;
	vt->send = wrap_send;
	vt->receive = wrap_receive;
	vt->close = wrap_close;
	vt->cleanup = wrap_cleanup;
	vt->get_system_socket = wrap_get_system_socket;
	vt->get_option = wrap_get_option;
	vt->set_option = wrap_set_option;
}

/* The reference layer's own parser decides, so a mutant reads the buffer
 * exactly as the layer it wraps would. */
int mut_buffer_kind(const unsigned char *buf, size_t size)
{
	const unsigned char *blob;
	size_t len;

	return layer_resume_unpack(buf, size, &blob, &len);
}

/* The header is what the reference layer checks; zeroing it empties the buffer. */
void mut_buffer_wipe(unsigned char *buf, size_t size)
{
	if (buf && size >= 16)
		memset(buf, 0, 16);
}
