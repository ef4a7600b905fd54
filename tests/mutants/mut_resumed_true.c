/* mut_resumed_true.c: mutant "resumed-true": SESSION_RESUMED reads true
 * whenever the layer offered a saved session, whether or not the server
 * accepted it: after the full handshake of a server that restarted or
 * forgot its sessions the client believes its registration survived and
 * sends nothing, while the server no longer knows it. (A first connect,
 * with nothing to offer, still reads false.) */
#include "tests/mutants/mut_base.h"

/* Before connect: remembers whether the caller's buffer held something to offer. */
static void note_offer(mut_wrap_t *w)
{
	w->flag = mut_buffer_kind(w->caller_buf, w->size) != 0;
}

/* get_option that calls every offered session a resumed one. */
static int resumed_true_get_option(sl_socket_t *sock, sl_option_t opt, sl_option_value_t *value)
{
	mut_wrap_t *w = mut_wrap_of(sock);
	int ret = mut_ref()->get_option(w->inner, opt, value);

	if (ret == 0 && opt == SL_OPT_SESSION_RESUMED && w->flag)
		value->flag = 1;
	return ret;
}

/* The loader's entry point: the wrapper, with get_option replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static const mut_wrap_hooks_t hooks = {.before_connect = note_offer};
	static sl_vtable_t vt;

	mut_wrap_vtable_init(&vt, "mutant-resumed-true", &hooks);
	vt.get_option = resumed_true_get_option;
	return &vt;
}
