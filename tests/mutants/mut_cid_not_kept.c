/* mut_cid_not_kept.c: mutant "cid-not-kept": the layer drops its DTLS
 * Connection ID context on close (it keeps the session), so every
 * reconnect, in-process or after a reboot, is a new handshake although a
 * CID was negotiated and the server still knows the connection. */
#include "tests/mutants/mut_base.h"

/* After close: a saved CID context is thrown away. */
static void drop_context(mut_wrap_t *w, mut_op_t op)
{
	if (op == MUT_OP_CLOSE && mut_buffer_kind(w->caller_buf, w->size) == 2)
		mut_buffer_wipe(w->caller_buf, w->size);
}

/* The loader's entry point: close followed by the drop. */
const sl_vtable_t *sl_layer_entry(void)
{
	static const mut_wrap_hooks_t hooks = {.after_op = drop_context};
	static sl_vtable_t vt;

	mut_wrap_vtable_init(&vt, "mutant-cid-not-kept", &hooks);
	return &vt;
}
