/* layer_avsnet_err.c: avs_error_t -> (errno value, sl_error_t). avs_net has
 * three categories a (D)TLS socket returns: avs_errno_t values, TLS alerts
 * received (AVS_NET_SSL_ALERT_CATEGORY) and the library's own codes
 * (AVS_NET_SSL_LIB_ERROR_CATEGORY); anything else is reported as EIO with
 * the category named, so nothing is silently mistaken for success. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "avsnet/layer_avsnet.h"

#define AVSNET_ERRNOS(X)                                                                           \
	X(E2BIG)                                                                                   \
	X(EACCES)                                                                                  \
	X(EADDRINUSE)                                                                              \
	X(EADDRNOTAVAIL)                                                                           \
	X(EAFNOSUPPORT) X(EAGAIN) X(EALREADY) X(EBADF) X(EBADMSG) X(EBUSY) X(ECHILD)               \
	    X(ECONNABORTED) X(ECONNREFUSED) X(ECONNRESET) X(EDEADLK) X(EDESTADDRREQ) X(EDOM)       \
		X(EEXIST) X(EFAULT) X(EFBIG) X(EHOSTUNREACH) X(EINPROGRESS) X(EINTR) X(EINVAL)     \
		    X(EIO) X(EISCONN) X(EISDIR) X(ELOOP) X(EMFILE) X(EMLINK) X(EMSGSIZE)           \
			X(ENAMETOOLONG) X(ENETDOWN) X(ENETRESET) X(ENETUNREACH) X(ENFILE)          \
			    X(ENOBUFS) X(ENODEV) X(ENOENT) X(ENOEXEC) X(ENOLINK) X(ENOMEM)         \
				X(ENOMSG) X(ENOPROTOOPT) X(ENOSPC) X(ENOSYS) X(ENOTBLK)            \
				    X(ENOTCONN) X(ENOTDIR) X(ENOTEMPTY) X(ENOTSOCK) X(ENOTSUP)     \
					X(ENOTTY) X(ENXIO) X(EOVERFLOW) X(EPERM) X(EPIPE)          \
					    X(EPROTO) X(EPROTONOSUPPORT) X(EPROTOTYPE) X(ERANGE)   \
						X(EROFS) X(ESPIPE) X(ESRCH) X(ETIMEDOUT)           \
						    X(ETXTBSY) X(EXDEV)

/* avs_errno_t has its own numbering: map it back to the system's. */
static int errno_of_avs(uint16_t code)
{
	switch ((avs_errno_t)code) {
#define AVSNET_CASE(n)                                                                             \
	case AVS_##n:                                                                              \
		return n;
		AVSNET_ERRNOS(AVSNET_CASE)
#undef AVSNET_CASE
	default:
		return EIO;
	}
}

/* Fills err (when given) and returns code, so callers can `return` it. */
int layer_avsnet_err_set(sl_error_t *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	memset(err, 0, sizeof(*err));
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

/* The library's own code in an AVS_NET_SSL_LIB_ERROR_CATEGORY error. avs_net
 * leaves its meaning to the backend: avs_commons' Mbed TLS socket stores the
 * negated (positive) Mbed TLS code, so it is negated back when the layer is
 * built for that backend (LAYER_AVSNET_LIB_MBEDTLS); others pass it as is. */
static int lib_code(avs_error_t e)
{
#ifdef LAYER_AVSNET_LIB_MBEDTLS
	return -(int)e.code;
#else
	return (int)e.code;
#endif
}

/* The errno value an avs_error_t stands for (0 for AVS_OK). A handshake
 * that gave up is a library error in avs_net's Mbed TLS backend
 * (MBEDTLS_ERR_SSL_TIMEOUT), ETIMEDOUT in sl_layer.h. */
int layer_avsnet_errno(avs_error_t e)
{
	if (avs_is_ok(e))
		return 0;
	if (e.category == AVS_ERRNO_CATEGORY)
		return errno_of_avs(e.code);
#ifdef LAYER_AVSNET_LIB_MBEDTLS
	if (e.category == AVS_NET_SSL_LIB_ERROR_CATEGORY && lib_code(e) == -0x6800)
		return ETIMEDOUT;
#endif
	if (e.category == AVS_NET_SSL_ALERT_CATEGORY ||
	    e.category == AVS_NET_SSL_LIB_ERROR_CATEGORY)
		return EPROTO;
	return EIO;
}

/* An alert received: into err and kept for SL_OPT_LAST_ALERT. */
static void note_alert(sl_socket_t *s, sl_error_t *err, avs_error_t e)
{
	sl_alert_t a = {.received = 1,
			.level = avs_net_ssl_alert_level(e),
			.description = avs_net_ssl_alert_description(e)};

	if (s)
		s->last_alert = a;
	if (err)
		err->alert = a;
}

/* Maps e and fills err with what the caller was doing; returns the errno. */
int layer_avsnet_err(sl_socket_t *s, sl_error_t *err, avs_error_t e, const char *what)
{
	int code = layer_avsnet_errno(e);

	if (e.category == AVS_ERRNO_CATEGORY)
		layer_avsnet_err_set(err, code, "%s: %s", what, avs_strerror((avs_errno_t)e.code));
	else if (e.category == AVS_NET_SSL_ALERT_CATEGORY)
		layer_avsnet_err_set(err, code, "%s: %s alert %u received", what,
				     avs_net_ssl_alert_level(e) == 2 ? "fatal" : "warning",
				     avs_net_ssl_alert_description(e));
	else if (e.category == AVS_NET_SSL_LIB_ERROR_CATEGORY)
		layer_avsnet_err_set(err, code, "%s: TLS library error %d", what, lib_code(e));
	else
		layer_avsnet_err_set(err, code, "%s: avs_error_t category %u code %u", what,
				     e.category, e.code);
	if (e.category == AVS_NET_SSL_ALERT_CATEGORY)
		note_alert(s, err, e);
	else if (err && e.category == AVS_NET_SSL_LIB_ERROR_CATEGORY)
		err->lib_error = lib_code(e);
	return code;
}
