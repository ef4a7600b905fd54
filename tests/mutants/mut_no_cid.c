/* mut_no_cid.c: mutant "no-cid": the layer never negotiates a DTLS
 * Connection ID, whatever use_connection_id says (as a layer built without
 * RFC 9146 support that does not declare SL_LACKS_CID). */
#include "tests/mutants/mut_base.h"

/* create() with the Connection ID switched off. */
static int no_cid_create(sl_socket_t **out, const sl_config_t *config, sl_error_t *err)
{
	sl_config_t cfg = *config;

	cfg.use_connection_id = 0;
	cfg.own_cid = NULL;
	cfg.own_cid_len = 0;
	return mut_ref()->create(out, &cfg, err);
}

/* The loader's entry point: the reference vtable with create replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-no-cid");
	vt.create = no_cid_create;
	return &vt;
}
