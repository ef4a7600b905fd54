/* mut_alert_desc_lost.c: mutant "alert-desc-lost": an alert received from
 * the server reaches the caller with its level but without its description
 * (always 0, close_notify), in errors and in LAST_ALERT alike, so a client
 * cannot tell a wrong key from an unknown identity or a revoked device. */
#include "tests/mutants/mut_base.h"

/* Keeps that an alert came and its level; loses what it said. */
static int lose_description(int ret, sl_error_t *err)
{
	if (ret && err && err->alert.received)
		err->alert.description = 0;
	return ret;
}

/* connect whose handshake alert lost its description. */
static int desc_lost_connect(sl_socket_t *sock, const char *host, const char *port, sl_error_t *err)
{
	return lose_description(mut_ref()->connect(sock, host, port, err), err);
}

/* send whose alert lost its description. */
static int desc_lost_send(sl_socket_t *sock, const void *buf, size_t len, sl_error_t *err)
{
	return lose_description(mut_ref()->send(sock, buf, len, err), err);
}

/* receive whose alert lost its description. */
static int desc_lost_receive(sl_socket_t *sock, void *buf, size_t size, size_t *out_len,
			     sl_error_t *err)
{
	return lose_description(mut_ref()->receive(sock, buf, size, out_len, err), err);
}

/* get_option whose LAST_ALERT keeps only the level. */
static int desc_lost_get_option(sl_socket_t *sock, sl_option_t opt, sl_option_value_t *value)
{
	int ret = mut_ref()->get_option(sock, opt, value);

	if (ret == 0 && opt == SL_OPT_LAST_ALERT && value->alert.received)
		value->alert.description = 0;
	return ret;
}

/* The loader's entry point: every path that reports an alert replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-alert-desc-lost");
	vt.connect = desc_lost_connect;
	vt.send = desc_lost_send;
	vt.receive = desc_lost_receive;
	vt.get_option = desc_lost_get_option;
	return &vt;
}
