/* mut_resume_not_offered.c: mutant "resume-not-offered": the layer writes
 * its session (or CID context) into the caller's resumption buffer, as it
 * should, but never reads it back: connect offers only what this socket
 * kept in memory, so in-process reconnects resume while a rebooted device,
 * whose buffer holds a valid session, always makes a full handshake. */
#include "tests/mutants/mut_base.h"

#include <string.h>

/* After anything that may save, forget or consume: the caller's buffer
 * mirrors the layer's private copy (and is never copied back). */
static void mirror(mut_wrap_t *w, mut_op_t op)
{
	(void)op;
	if (w->shadow)
		memcpy(w->caller_buf, w->shadow, w->size);
}

/* The loader's entry point: the reference layer reads only its own copy. */
const sl_vtable_t *sl_layer_entry(void)
{
	static const mut_wrap_hooks_t hooks = {.shadow = 1, .after_op = mirror};
	static sl_vtable_t vt;

	mut_wrap_vtable_init(&vt, "mutant-resume-not-offered", &hooks);
	return &vt;
}
