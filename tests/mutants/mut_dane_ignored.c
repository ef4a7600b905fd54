/* mut_dane_ignored.c: mutant "dane-ignored": DANE TLSA records (LwM2M
 * Certificate Usage) are accepted and ignored, and the server certificate
 * is never validated: any certificate is accepted. */
#include "tests/mutants/mut_base.h"

/* create() with server certificate validation switched off. */
static int dane_ignored_create(sl_socket_t **out, const sl_config_t *config, sl_error_t *err)
{
	sl_config_t cfg = *config;

	cfg.cert.server_cert_validation = 0;
	return mut_ref()->create(out, &cfg, err);
}

/* set_option that says yes to DANE records and drops them. */
static int dane_ignored_set_option(sl_socket_t *sock, sl_option_t opt,
				   const sl_option_value_t *value)
{
	if (opt == SL_OPT_DANE_TLSA)
		return 0;
	return mut_ref()->set_option(sock, opt, value);
}

/* The loader's entry point: create and set_option replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-dane-ignored");
	vt.create = dane_ignored_create;
	vt.set_option = dane_ignored_set_option;
	return &vt;
}
