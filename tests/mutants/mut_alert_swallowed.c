/* mut_alert_swallowed.c: mutant "alert-swallowed": TLS alerts received from
 * the server never reach the caller: errors keep their errno class but lose
 * the (level, description), and LAST_ALERT always reads "none". */
#include "tests/mutants/mut_base.h"

#include <string.h>

/* Forgets the alert an error carried. */
static int swallow(int ret, sl_error_t *err)
{
	if (ret && err)
		memset(&err->alert, 0, sizeof(err->alert));
	return ret;
}

/* connect without the alert that made the handshake fail. */
static int swallow_connect(sl_socket_t *sock, const char *host, const char *port, sl_error_t *err)
{
	return swallow(mut_ref()->connect(sock, host, port, err), err);
}

/* send without the alert that broke the connection. */
static int swallow_send(sl_socket_t *sock, const void *buf, size_t len, sl_error_t *err)
{
	return swallow(mut_ref()->send(sock, buf, len, err), err);
}

/* receive without the alert the server sent. */
static int swallow_receive(sl_socket_t *sock, void *buf, size_t size, size_t *out_len,
			   sl_error_t *err)
{
	return swallow(mut_ref()->receive(sock, buf, size, out_len, err), err);
}

/* get_option whose LAST_ALERT never saw one. */
static int swallow_get_option(sl_socket_t *sock, sl_option_t opt, sl_option_value_t *value)
{
	int ret = mut_ref()->get_option(sock, opt, value);

	if (ret == 0 && opt == SL_OPT_LAST_ALERT)
		memset(&value->alert, 0, sizeof(value->alert));
	return ret;
}

/* The loader's entry point: every path that reports an alert replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-alert-swallowed");
	vt.connect = swallow_connect;
	vt.send = swallow_send;
	vt.receive = swallow_receive;
	vt.get_option = swallow_get_option;
	return &vt;
}
