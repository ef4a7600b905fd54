/* mut_resume_unwritten.c: mutant "resume-unwritten": the caller's session
 * resumption buffer is read at the first connect but never written: the
 * layer keeps its session (or CID context) in a private copy, so in-process
 * reconnects still resume while a rebooted device finds nothing to resume. */
#include "tests/mutants/mut_base.h"

#include <string.h>

/* connect: the caller's buffer is read (once), as a correct layer would. */
static void read_once(mut_wrap_t *w)
{
	if (w->shadow && !w->connects)
		memcpy(w->shadow, w->caller_buf, w->size);
}

/* The loader's entry point: the reference layer writes only its own copy. */
const sl_vtable_t *sl_layer_entry(void)
{
	static const mut_wrap_hooks_t hooks = {.shadow = 1, .before_connect = read_once};
	static sl_vtable_t vt;

	mut_wrap_vtable_init(&vt, "mutant-resume-unwritten", &hooks);
	return &vt;
}
