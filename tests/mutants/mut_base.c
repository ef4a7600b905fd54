/* mut_base.c: the reference vtable and the helpers mutants share. */
#include "tests/mutants/mut_base.h"

#include <arpa/inet.h>

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
