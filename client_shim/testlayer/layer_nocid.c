/* layer_nocid.c: the reference Mbed TLS layer without DTLS Connection ID and
 * without context resumption, as a layer on a modem or an older TLS library
 * would be. It exists so the "layer lacks a capability" path (UNSUPPORTED ->
 * skipped, never passed) can be exercised end to end with a real .so. */
#include <string.h>

#include "client_shim/layer_mbedtls.h"

static sl_vtable_t nocid_vtable;

/* Creates a reference socket that never offers a CID, whatever it is asked. */
static int nocid_create(sl_socket_t **out, const sl_config_t *config, sl_error_t *err)
{
	sl_config_t cfg = *config;

	cfg.use_connection_id = 0;
	cfg.own_cid_len = 0;
	return layer_mbedtls_vtable()->create(out, &cfg, err);
}

/* The reference vtable with create() replaced and the lacks declared. */
const sl_vtable_t *sl_layer_entry(void)
{
	if (!nocid_vtable.create) {
		nocid_vtable = *layer_mbedtls_vtable();
		nocid_vtable.name = "mbedtls-nocid";
		nocid_vtable.lacks = SL_LACKS_CID | SL_LACKS_CONTEXT_RESUMPTION;
		nocid_vtable.create = nocid_create;
	}
	return &nocid_vtable;
}
