/* mut_hs_timeouts.c: mutant "hs-timeouts": the configured DTLS handshake
 * timeouts are ignored (creation-time and runtime alike); the library's
 * defaults (1 s .. 60 s) apply, so a dead server takes a minute to notice. */
#include "tests/mutants/mut_base.h"

/* create() without the configured handshake timeouts. */
static int hs_timeouts_create(sl_socket_t **out, const sl_config_t *config, sl_error_t *err)
{
	sl_config_t cfg = *config;

	cfg.handshake_timeouts.min_ms = 0;
	cfg.handshake_timeouts.max_ms = 0;
	return mut_ref()->create(out, &cfg, err);
}

/* set_option that accepts handshake timeouts and does nothing with them. */
static int hs_timeouts_set_option(sl_socket_t *sock, sl_option_t opt,
				  const sl_option_value_t *value)
{
	if (opt == SL_OPT_DTLS_HANDSHAKE_TIMEOUTS)
		return 0;
	return mut_ref()->set_option(sock, opt, value);
}

/* The loader's entry point: create and set_option replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-hs-timeouts");
	vt.create = hs_timeouts_create;
	vt.set_option = hs_timeouts_set_option;
	return &vt;
}
