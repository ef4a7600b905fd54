/* layer_mbedtls_err.c: turns Mbed TLS and socket failures into the
 * contract's errors (errno class + library code + received alert). */
#include "client_shim/layer_mbedtls.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>

/* Fills err (when given) and returns code, so callers can `return layer_err_set(...)`. */
int layer_err_set(sl_error_t *err, int code, int lib_error, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->lib_error = lib_error;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

/* Picks up a fatal alert Mbed TLS just read, which it keeps only in in_msg. */
static void record_alert(sl_socket_t *s, int ret)
{
	if (ret != MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && ret != MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return;
	if (s->ssl.in_msgtype != MBEDTLS_SSL_MSG_ALERT || !s->ssl.in_msg)
		return;
	s->last_alert.received = 1;
	s->last_alert.level = s->ssl.in_msg[0];
	s->last_alert.description = s->ssl.in_msg[1];
}

/* The errno class for an Mbed TLS failure: what a caller can act upon. */
static int errno_class(sl_socket_t *s, int ret)
{
	switch (ret) {
	case MBEDTLS_ERR_SSL_TIMEOUT:
		return ETIMEDOUT;
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
		return ENOMEM;
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
	case MBEDTLS_ERR_NET_CONN_RESET:
		return ECONNRESET;
	case MBEDTLS_ERR_NET_RECV_FAILED:
	case MBEDTLS_ERR_NET_SEND_FAILED:
		return s->net_errno ? s->net_errno : EIO;
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
		return EPROTO;
	case MBEDTLS_ERR_SSL_BAD_INPUT_DATA:
		return EINVAL;
	default:
		return EPROTO;
	}
}

/* Says why the server's certificate was refused (expired, name, trust...). */
static void verify_err(sl_socket_t *s, sl_error_t *err, int code, int ret, const char *what)
{
	char info[128];
	size_t i;

	mbedtls_x509_crt_verify_info(info, sizeof(info), "",
				     mbedtls_ssl_get_verify_result(&s->ssl));
	for (i = 0; info[i]; i++)
		if (info[i] == '\n')
			info[i] = info[i + 1] ? ';' : 0;
	layer_err_set(err, code, ret, "%s: server certificate rejected: %s", what, info);
}

/* Fills err from an Mbed TLS return code, with the alert if one arrived. */
int layer_err_from_mbedtls(sl_socket_t *s, sl_error_t *err, int ret, const char *what)
{
	char text[96];
	int code;

	record_alert(s, ret);
	code = errno_class(s, ret);
	mbedtls_strerror(ret, text, sizeof(text));
	if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && s->last_alert.received)
		layer_err_set(err, code, ret, "%s: fatal alert %u received", what,
			      s->last_alert.description);
	else if ((ret == MBEDTLS_ERR_NET_RECV_FAILED || ret == MBEDTLS_ERR_NET_SEND_FAILED) &&
		 s->net_errno)
		layer_err_set(err, code, ret, "%s: %s", what, strerror(s->net_errno));
	else if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
		verify_err(s, err, code, ret, what);
	else
		layer_err_set(err, code, ret, "%s: %s", what, text);
	if (err && s->last_alert.received && ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
		err->alert = s->last_alert;
	if (err && ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		err->alert = s->last_alert;
	return code;
}
