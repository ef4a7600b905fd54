/* layer_mbedtls_entry.c: the reference layer's SL_ENTRY_SYMBOL, alone in its
 * file so that layers derived from it (testlayer/) can export their own. */
#include "client_shim/layer_mbedtls.h"

/* The entry point a loader looks up with dlsym(SL_ENTRY_SYMBOL). */
const sl_vtable_t *sl_layer_entry(void)
{
	return layer_mbedtls_vtable();
}
