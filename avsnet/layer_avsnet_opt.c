/* layer_avsnet_opt.c: sl_option_t <-> avs_net_socket_opt_key_t. Options
 * avs_net has are read and written through avs_net_socket_get_opt/set_opt;
 * the rest are answered here (LAST_ALERT, from the errors seen) or refused
 * with ENOTSUP, which the shim reports as "unsupported", never as a value. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "avsnet/layer_avsnet.h"

/* avs_net_socket_get_opt, errno-mapped. */
static int avs_get(sl_socket_t *s, avs_net_socket_opt_key_t key, avs_net_socket_opt_value_t *out)
{
	memset(out, 0, sizeof(*out));
	return layer_avsnet_errno(avs_net_socket_get_opt(s->avs, key, out));
}

/* A flag avs_net defines only while connected (undefined behaviour else). */
static int get_flag(sl_socket_t *s, avs_net_socket_opt_key_t key, sl_option_value_t *v)
{
	avs_net_socket_opt_value_t a;
	int ret;

	if (!s->connected)
		return ENOTCONN;
	ret = avs_get(s, key, &a);
	if (!ret)
		v->flag = a.flag;
	return ret;
}

/* An int-valued MTU option as u64. */
static int get_mtu(sl_socket_t *s, avs_net_socket_opt_key_t key, sl_option_value_t *v)
{
	avs_net_socket_opt_value_t a;
	int ret = avs_get(s, key, &a);

	if (!ret && a.mtu < 0)
		return ENOTCONN;
	if (!ret)
		v->u64 = (uint64_t)a.mtu;
	return ret;
}

/* Durations -> ms; an invalid duration is avs_net's "forever" (-1). */
static int64_t ms_of(avs_time_duration_t d)
{
	int64_t ms;

	if (!avs_time_duration_valid(d) || avs_time_duration_to_scalar(&ms, AVS_TIME_MS, d))
		return -1;
	return ms;
}

/* Receive timeout, read back from avs_net; handshake timeouts, which
 * avs_net can set but not read: the values it accepted last (create or
 * set_option), kept here. */
static int get_time(sl_socket_t *s, sl_option_t opt, sl_option_value_t *v)
{
	avs_net_socket_opt_value_t a;
	int ret;

	if (opt == SL_OPT_RECV_TIMEOUT) {
		ret = avs_get(s, AVS_NET_SOCKET_OPT_RECV_TIMEOUT, &a);
		if (!ret)
			v->i64 = ms_of(a.recv_timeout);
		return ret;
	}
	v->timeouts.min_ms = (uint32_t)ms_of(s->conf.hs.min);
	v->timeouts.max_ms = (uint32_t)ms_of(s->conf.hs.max);
	return 0;
}

/* SESSION_RESUMED: avs_net also says true after a CID context restore
 * (no handshake at all); sl_layer.h only after an abbreviated handshake. */
static int get_resumed(sl_socket_t *s, sl_option_value_t *v)
{
	sl_option_value_t cid = {.flag = 0};
	int ret = get_flag(s, AVS_NET_SOCKET_OPT_SESSION_RESUMED, v);

	if (!ret && v->flag && !get_flag(s, AVS_NET_SOCKET_OPT_CONNECTION_ID_RESUMED, &cid) &&
	    cid.flag)
		v->flag = 0;
	return ret;
}

/* Byte counters: avs_net counts application data, not bytes on the wire. */
static int get_bytes(sl_socket_t *s, sl_option_t opt, sl_option_value_t *v)
{
	avs_net_socket_opt_value_t a;
	int sent = opt == SL_OPT_BYTES_SENT;
	int ret = avs_get(
	    s, sent ? AVS_NET_SOCKET_OPT_BYTES_SENT : AVS_NET_SOCKET_OPT_BYTES_RECEIVED, &a);

	if (!ret)
		v->u64 = sent ? a.bytes_sent : a.bytes_received;
	return ret;
}

/* Reads one option. */
int layer_avsnet_get_option(sl_socket_t *s, sl_option_t opt, sl_option_value_t *v)
{
	switch (opt) {
	case SL_OPT_RECV_TIMEOUT:
	case SL_OPT_DTLS_HANDSHAKE_TIMEOUTS:
		return get_time(s, opt, v);
	case SL_OPT_SESSION_RESUMED:
		return get_resumed(s, v);
	case SL_OPT_CONNECTION_ID_RESUMED:
		return get_flag(s, AVS_NET_SOCKET_OPT_CONNECTION_ID_RESUMED, v);
	case SL_OPT_HAS_BUFFERED_DATA:
		return get_flag(s, AVS_NET_SOCKET_HAS_BUFFERED_DATA, v);
	case SL_OPT_INNER_MTU:
		return s->connected ? get_mtu(s, AVS_NET_SOCKET_OPT_INNER_MTU, v) : ENOTCONN;
	case SL_OPT_MTU:
		return get_mtu(s, AVS_NET_SOCKET_OPT_MTU, v);
	case SL_OPT_BYTES_SENT:
	case SL_OPT_BYTES_RECEIVED:
		return get_bytes(s, opt, v);
	case SL_OPT_LAST_ALERT:
		v->alert = s->last_alert;
		return 0;
	case SL_OPT_CIPHERSUITE:
	case SL_OPT_CONNECTION_ID:
		return ENOTSUP; /* not in avs_net's public API */
	default:
		return EINVAL;
	}
}

/* sl DANE records -> avs_net's, then AVS_NET_SOCKET_OPT_DANE_TLSA_ARRAY
 * (which copies them). avs_net accepts records only on a socket created
 * with certificate.dane set, so the first records recreate the socket. */
static int set_dane(sl_socket_t *s, const sl_option_value_t *v)
{
	avs_net_socket_dane_tlsa_record_t *recs;
	avs_net_socket_opt_value_t a;
	size_t i;
	int ret;

	if (s->connected || s->conf.ssl.security.mode != AVS_NET_SECURITY_CERTIFICATE)
		return EINVAL;
	if (!s->has_dane && (ret = layer_avsnet_open(s, 1, NULL)))
		return ret;
	recs = calloc(v->dane.count ? v->dane.count : 1, sizeof(*recs));
	if (!recs)
		return ENOMEM;
	for (i = 0; i < v->dane.count; i++) {
		recs[i].certificate_usage =
		    (avs_net_socket_dane_certificate_usage_t)v->dane.records[i].usage;
		recs[i].selector = (avs_net_socket_dane_selector_t)v->dane.records[i].selector;
		recs[i].matching_type =
		    (avs_net_socket_dane_matching_type_t)v->dane.records[i].matching;
		recs[i].association_data = v->dane.records[i].data;
		recs[i].association_data_size = v->dane.records[i].data_len;
	}
	memset(&a, 0, sizeof(a));
	a.dane_tlsa_array.array_ptr = recs;
	a.dane_tlsa_array.array_element_count = v->dane.count;
	ret = layer_avsnet_errno(
	    avs_net_socket_set_opt(s->avs, AVS_NET_SOCKET_OPT_DANE_TLSA_ARRAY, a));
	free(recs);
	return ret;
}

/* avs_net takes the MTU only at creation (forced_mtu): a closed socket is
 * recreated with the new one; a connected one cannot change it. */
static int set_mtu(sl_socket_t *s, const sl_option_value_t *v)
{
	if (v->u64 < 68 || v->u64 > 65535)
		return EINVAL;
	if (s->connected)
		return ENOTSUP;
	s->conf.ssl.backend_configuration.forced_mtu = (int)v->u64;
	return layer_avsnet_open(s, s->has_dane, NULL);
}

/* Receive timeout in ms (-1: forever) as an avs_time_duration_t. */
static int set_recv_timeout(sl_socket_t *s, int64_t ms)
{
	avs_net_socket_opt_value_t a;
	int ret;

	if (ms < -1)
		return EINVAL;
	memset(&a, 0, sizeof(a));
	a.recv_timeout =
	    ms < 0 ? AVS_TIME_DURATION_INVALID : avs_time_duration_from_scalar(ms, AVS_TIME_MS);
	s->recv_timeout_ms = ms;
	ret =
	    layer_avsnet_errno(avs_net_socket_set_opt(s->avs, AVS_NET_SOCKET_OPT_RECV_TIMEOUT, a));
	return s->connected ? ret : 0; /* else applied at connect */
}

/* Handshake timeouts, kept in the configuration too for a recreated socket. */
static int set_hs(sl_socket_t *s, const sl_option_value_t *v)
{
	avs_net_socket_opt_value_t a;

	if (!v->timeouts.min_ms || v->timeouts.min_ms > v->timeouts.max_ms)
		return EINVAL;
	s->conf.hs.min = avs_time_duration_from_scalar(v->timeouts.min_ms, AVS_TIME_MS);
	s->conf.hs.max = avs_time_duration_from_scalar(v->timeouts.max_ms, AVS_TIME_MS);
	memset(&a, 0, sizeof(a));
	a.dtls_handshake_timeouts = s->conf.hs;
	return layer_avsnet_errno(
	    avs_net_socket_set_opt(s->avs, AVS_NET_SOCKET_OPT_DTLS_HANDSHAKE_TIMEOUTS, a));
}

/* Writes one option; EINVAL for a read-only one or a value out of range. */
int layer_avsnet_set_option(sl_socket_t *s, sl_option_t opt, const sl_option_value_t *v)
{
	switch (opt) {
	case SL_OPT_RECV_TIMEOUT:
		return set_recv_timeout(s, v->i64);
	case SL_OPT_MTU:
		return set_mtu(s, v);
	case SL_OPT_DTLS_HANDSHAKE_TIMEOUTS:
		return set_hs(s, v);
	case SL_OPT_DANE_TLSA:
		return set_dane(s, v);
	default:
		return EINVAL;
	}
}
