/* shim_option.c: option names and JSON conversion. */
#include "client_shim/shim_option.h"

#include <stdio.h>
#include <string.h>

#include "client_shim/shim_reply.h"
#include "lh_hex.h"

static const char *const names[] = {
    [SL_OPT_RECV_TIMEOUT] = "recv_timeout_ms",
    [SL_OPT_SESSION_RESUMED] = "session_resumed",
    [SL_OPT_CONNECTION_ID_RESUMED] = "connection_id_resumed",
    [SL_OPT_INNER_MTU] = "inner_mtu",
    [SL_OPT_MTU] = "mtu",
    [SL_OPT_HAS_BUFFERED_DATA] = "has_buffered_data",
    [SL_OPT_DANE_TLSA] = "dane_tlsa",
    [SL_OPT_DTLS_HANDSHAKE_TIMEOUTS] = "handshake_timeout_ms",
    [SL_OPT_CIPHERSUITE] = "ciphersuite",
    [SL_OPT_CONNECTION_ID] = "connection_id",
    [SL_OPT_LAST_ALERT] = "last_alert",
    [SL_OPT_BYTES_SENT] = "bytes_sent",
    [SL_OPT_BYTES_RECEIVED] = "bytes_received",
    [SL_OPT_REQUEST_UNANSWERED] = "request_unanswered",
};
#define N_OPTS (int)(sizeof(names) / sizeof(names[0]))

/* Name to option number. */
int shim_option_from_name(const char *name)
{
	int i;

	for (i = 0; name && i < N_OPTS; i++)
		if (names[i] && !strcmp(names[i], name))
			return i;
	return -1;
}

/* Option number to name. */
const char *shim_option_name(int opt)
{
	return opt >= 0 && opt < N_OPTS ? names[opt] : NULL;
}

/* All names, built once. */
const char *shim_option_names(void)
{
	static char buf[512];
	size_t used = 0;
	int i;

	if (buf[0])
		return buf;
	for (i = 0; i < N_OPTS; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? ", " : "",
					 names[i]);
	return buf;
}

/* Hex text of a byte string. */
static json_t *hex_json(const unsigned char *p, size_t n)
{
	char hex[2 * SL_CID_MAX + 1];

	lh_hex_encode(p, n, hex);
	return json_string(hex);
}

/* The JSON form of a value read from the layer. */
json_t *shim_option_to_json(int opt, const sl_option_value_t *v)
{
	switch (opt) {
	case SL_OPT_RECV_TIMEOUT:
		return json_integer(v->i64);
	case SL_OPT_SESSION_RESUMED:
	case SL_OPT_CONNECTION_ID_RESUMED:
	case SL_OPT_HAS_BUFFERED_DATA:
		return json_boolean(v->flag);
	case SL_OPT_INNER_MTU:
	case SL_OPT_MTU:
	case SL_OPT_BYTES_SENT:
	case SL_OPT_BYTES_RECEIVED:
		return json_integer((json_int_t)v->u64);
	case SL_OPT_DTLS_HANDSHAKE_TIMEOUTS:
		return json_pack("{s:i,s:i}", "min", (int)v->timeouts.min_ms, "max",
				 (int)v->timeouts.max_ms);
	case SL_OPT_CIPHERSUITE:
		return json_pack("{s:i,s:s}", "id", v->suite.id, "name", v->suite.name);
	case SL_OPT_CONNECTION_ID:
		if (!v->cid.negotiated)
			return json_null();
		return json_pack("{s:o,s:o}", "own", hex_json(v->cid.own, v->cid.own_len), "peer",
				 hex_json(v->cid.peer, v->cid.peer_len));
	case SL_OPT_LAST_ALERT:
		return shim_reply_alert_json(&v->alert);
	default:
		return json_null();
	}
}

/* {"min":ms,"max":ms} with 0 < min <= max. */
static int parse_timeouts(const json_t *j, sl_option_value_t *v)
{
	int lo = 0, hi = 0;

	if (json_unpack((json_t *)j, "{s:i,s:i!}", "min", &lo, "max", &hi) || lo <= 0 || lo > hi)
		return -1;
	v->timeouts.min_ms = (uint32_t)lo;
	v->timeouts.max_ms = (uint32_t)hi;
	return 0;
}

/* Parses a JSON value into an option value (writable options only). */
int shim_option_from_json(int opt, const json_t *j, sl_option_value_t *v, char *msg,
			  size_t msg_size)
{
	memset(v, 0, sizeof(*v));
	switch (opt) {
	case SL_OPT_RECV_TIMEOUT:
		if (!json_is_integer(j) || json_integer_value(j) < -1)
			break;
		v->i64 = json_integer_value(j);
		return 0;
	case SL_OPT_MTU:
		if (!json_is_integer(j) || json_integer_value(j) < 68 ||
		    json_integer_value(j) > 65535)
			break;
		v->u64 = (uint64_t)json_integer_value(j);
		return 0;
	case SL_OPT_DTLS_HANDSHAKE_TIMEOUTS:
		if (parse_timeouts(j, v))
			break;
		return 0;
	default:
		snprintf(msg, msg_size, "option %s is read-only",
			 shim_option_name(opt) ? shim_option_name(opt) : "?");
		return -1;
	}
	snprintf(msg, msg_size, "bad value for %s: expected %s", shim_option_name(opt),
		 opt == SL_OPT_RECV_TIMEOUT ? "an integer >= -1 (ms, -1 = forever)"
		 : opt == SL_OPT_MTU	    ? "an integer 68..65535"
					    : "{\"min\":ms,\"max\":ms} with 0 < min <= max");
	return -1;
}
