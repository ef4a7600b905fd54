/* shim_reply.c: error classes, alert names and the reply event. */
#include "client_shim/shim_reply.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/error.h>

#include "lh_alert.h"
#include "lh_event.h"

/* Fills a contract error without a library code (the shim's own errors). */
int shim_reply_err_set(sl_error_t *err, int code, const char *fmt, ...)
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

/* The stable class names the harness matches on. */
const char *shim_reply_errno_name(int code, char *buf, size_t size)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {{ETIMEDOUT, "ETIMEDOUT"},	   {ECONNREFUSED, "ECONNREFUSED"},
		     {EPROTO, "EPROTO"},	   {EMSGSIZE, "EMSGSIZE"},
		     {EINVAL, "EINVAL"},	   {ECONNRESET, "ECONNRESET"},
		     {ENOTCONN, "ENOTCONN"},	   {EISCONN, "EISCONN"},
		     {ENOMEM, "ENOMEM"},	   {EIO, "EIO"},
		     {ENOENT, "ENOENT"},	   {EHOSTUNREACH, "EHOSTUNREACH"},
		     {ENETUNREACH, "ENETUNREACH"}, {ENOTSUP, "UNSUPPORTED"},
		     {EACCES, "EACCES"},	   {EBADMSG, "COAP"}};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == code)
			return names[i].name;
	snprintf(buf, size, "E%d", code);
	return buf;
}

/* The alert object of the event format. */
json_t *shim_reply_alert_json(const sl_alert_t *a)
{
	if (!a->received)
		return json_null();
	return lh_alert_json(a->level, a->description);
}

/* Adds the error fields of the contract. */
void shim_reply_add_error(json_t *obj, const sl_error_t *err)
{
	char buf[16], text[128];

	json_object_set_new(obj, "error",
			    json_string(shim_reply_errno_name(err->code, buf, sizeof(buf))));
	json_object_set_new(obj, "message", json_string(err->message));
	if (err->alert.received)
		json_object_set_new(obj, "alert", shim_reply_alert_json(&err->alert));
	if (err->lib_error) {
		mbedtls_strerror(err->lib_error, text, sizeof(text));
		json_object_set_new(obj, "mbedtls_error", json_integer(err->lib_error));
		json_object_set_new(obj, "mbedtls_error_text", json_string(text));
	}
}

/* Emits the reply event (fields stolen). */
void shim_reply_send(const char *cmd, const json_t *id, int ok, double ms, json_t *fields)
{
	json_t *obj = json_object();

	json_object_set_new(obj, "cmd", json_string(cmd ? cmd : ""));
	if (id)
		json_object_set(obj, "id", (json_t *)id);
	json_object_set_new(obj, "ok", json_boolean(ok));
	/* To the microsecond: more digits are noise, not precision. */
	json_object_set_new(obj, "ms", json_real(round(ms * 1000.0) / 1000.0));
	if (fields) {
		json_object_update(obj, fields);
		json_decref(fields);
	}
	lh_event_emit("reply", obj);
}

/* Monotonic milliseconds with microsecond resolution, for reply timings. */
double shim_reply_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}
