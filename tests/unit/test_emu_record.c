/* Unit tests for the emulator's hand-parsed DTLS framing: a real Mbed TLS
 * client's ClientHello is parsed, answered with our HelloVerifyRequest, and
 * its second ClientHello must carry our cookie, which must verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cookie.h>
#include <psa/crypto.h>
#include <string.h>

#include "server/emu_record.h"

struct capture {
	uint8_t out[2048];
	size_t out_len;
	const uint8_t *in;
	size_t in_len;
};

/* The client's sends are captured instead of hitting a socket. */
static int cap_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct capture *c = ctx;
	if (len > sizeof(c->out))
		return -1;
	memcpy(c->out, buf, len);
	c->out_len = len;
	return (int)len;
}

/* Feeds one prepared datagram, then WANT_READ. */
static int cap_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct capture *c = ctx;
	if (!c->in)
		return MBEDTLS_ERR_SSL_WANT_READ;
	size_t n = c->in_len < len ? c->in_len : len;
	memcpy(buf, c->in, n);
	c->in = NULL;
	return (int)n;
}

static int64_t fake_timer;
/* Timer callbacks Mbed TLS requires for DTLS; never expire in this test. */
static void t_set(void *ctx, uint32_t a, uint32_t b)
{
	(void)ctx;
	(void)a;
	fake_timer = b;
}
static int t_get(void *ctx)
{
	(void)ctx;
	return fake_timer ? 0 : -1;
}

static void client_hello_cookie_roundtrip(void **state)
{
	(void)state;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_cookie_ctx cookie;
	struct capture cap = {0};
	struct emu_record rec;
	struct emu_client_hello ch;
	uint8_t ck[64], hvr[256], peer[6] = {127, 0, 0, 1, 0x12, 0x34};
	unsigned char *p = ck;

	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	mbedtls_ssl_cookie_init(&cookie);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	assert_int_equal(mbedtls_ssl_cookie_setup(&cookie, mbedtls_ctr_drbg_random, &drbg), 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
						     MBEDTLS_SSL_TRANSPORT_DATAGRAM,
						     MBEDTLS_SSL_PRESET_DEFAULT),
			 0);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	assert_int_equal(mbedtls_ssl_conf_psk(&conf, (const unsigned char *)"k", 1,
					      (const unsigned char *)"id", 2),
			 0);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	assert_int_equal(mbedtls_ssl_set_hostname(&ssl, "Dev.Example"), 0);
	mbedtls_ssl_set_bio(&ssl, &cap, cap_send, cap_recv, NULL);
	mbedtls_ssl_set_timer_cb(&ssl, NULL, t_set, t_get);

	/* First flight: a ClientHello without a cookie. */
	assert_int_equal(mbedtls_ssl_handshake(&ssl), MBEDTLS_ERR_SSL_WANT_READ);
	assert_int_equal(emu_record_parse(cap.out, cap.out_len, 0, &rec), 0);
	assert_int_equal(rec.type, EMU_CT_HANDSHAKE);
	assert_int_equal(rec.epoch, 0);
	assert_int_equal(emu_record_client_hello(&rec, &ch), 0);
	assert_int_equal(ch.cookie_len, 0);
	assert_false(ch.fragmented);
	/* The SNI the demux picks the vhost by, read from the extensions. */
	assert_int_equal(ch.sni_len, 11);
	assert_memory_equal(ch.sni, "Dev.Example", 11);

	/* Our HelloVerifyRequest must make the client retry with the cookie. */
	assert_int_equal(mbedtls_ssl_cookie_write(&cookie, &p, ck + sizeof(ck), peer, 6), 0);
	size_t n = emu_record_write_hvr(hvr, sizeof(hvr), rec.seq, ck, (size_t)(p - ck));
	assert_true(n > 0);
	cap.in = hvr;
	cap.in_len = n;
	assert_int_equal(mbedtls_ssl_handshake(&ssl), MBEDTLS_ERR_SSL_WANT_READ);
	assert_int_equal(emu_record_parse(cap.out, cap.out_len, 0, &rec), 0);
	assert_int_equal(emu_record_client_hello(&rec, &ch), 0);
	assert_int_equal(ch.cookie_len, (size_t)(p - ck));
	assert_memory_equal(ch.cookie, ck, ch.cookie_len);
	assert_int_equal(mbedtls_ssl_cookie_check(&cookie, ch.cookie, ch.cookie_len, peer, 6), 0);
	/* The same cookie from another address must not verify. */
	peer[5] ^= 1;
	assert_int_not_equal(mbedtls_ssl_cookie_check(&cookie, ch.cookie, ch.cookie_len, peer, 6),
			     0);

	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ssl_cookie_free(&cookie);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
}

static void cid_record_and_order(void **state)
{
	(void)state;
	/* type 25, DTLS 1.2, epoch 1, seq 0x000000000102, CID a1b2c3d4, length 3 */
	static const uint8_t rec25[] = {25, 0xfe, 0xfd, 0,    1,    0, 0, 0, 0, 1,
					2,  0xa1, 0xb2, 0xc3, 0xd4, 0, 3, 9, 9, 9};
	struct emu_record rec;
	assert_int_equal(emu_record_parse(rec25, sizeof(rec25), 4, &rec), 0);
	assert_int_equal(rec.type, EMU_CT_TLS12_CID);
	assert_int_equal(rec.epoch, 1);
	assert_int_equal(rec.seq, 0x102);
	assert_memory_equal(rec.cid, "\xa1\xb2\xc3\xd4", 4);
	assert_int_equal(rec.body_len, 3);
	assert_int_equal(rec.total_len, sizeof(rec25));
	assert_int_equal(emu_record_order(&rec), (1ULL << 48) | 0x102);
	/* The same bytes with a longer CID expectation are truncated. */
	assert_int_equal(emu_record_parse(rec25, sizeof(rec25), 8, &rec), -1);
}

static void garbage_is_rejected(void **state)
{
	(void)state;
	static const uint8_t short_hdr[] = {22, 0xfe, 0xfd, 0, 0};
	static const uint8_t bad_version[] = {22, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t overlong[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200, 1};
	/* A handshake record whose ClientHello claims more bytes than it has. */
	static const uint8_t trunc_ch[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0,  14,  1,
					   0,  0,    40,   0, 0, 0, 0, 0, 0, 0, 0, 40, 0xfe};
	static const uint8_t alert[] = {21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 2, 20};
	struct emu_record rec;
	struct emu_client_hello ch;
	int level, desc;
	assert_int_equal(emu_record_parse(short_hdr, sizeof(short_hdr), 0, &rec), -1);
	assert_int_equal(emu_record_parse(bad_version, sizeof(bad_version), 0, &rec), -1);
	assert_int_equal(emu_record_parse(overlong, sizeof(overlong), 0, &rec), -1);
	assert_int_equal(emu_record_parse(trunc_ch, sizeof(trunc_ch), 0, &rec), 0);
	assert_int_equal(emu_record_client_hello(&rec, &ch), -1);
	assert_int_equal(emu_record_parse(alert, sizeof(alert), 0, &rec), 0);
	assert_int_equal(emu_record_client_hello(&rec, &ch), -1);
	assert_int_equal(emu_record_alert(&rec, &level, &desc), 0);
	assert_int_equal(level, 2);
	assert_int_equal(desc, 20);
}

#define HELLO_MAX (EMU_TLS_RECORD_HDR_LEN + EMU_TLS_RECORD_MAX)

/* A real Mbed TLS stream client's ClientHello record (TLS 1.2, SNI sni or
 * none) into out; returns its length. */
static size_t tls_client_hello(const char *sni, uint8_t *out, size_t size)
{
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	struct capture cap = {0};
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
						     MBEDTLS_SSL_TRANSPORT_STREAM,
						     MBEDTLS_SSL_PRESET_DEFAULT),
			 0);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_max_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
	assert_int_equal(mbedtls_ssl_conf_psk(&conf, (const unsigned char *)"k", 1,
					      (const unsigned char *)"id", 2),
			 0);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	if (sni)
		assert_int_equal(mbedtls_ssl_set_hostname(&ssl, sni), 0);
	mbedtls_ssl_set_bio(&ssl, &cap, cap_send, cap_recv, NULL);
	assert_int_equal(mbedtls_ssl_handshake(&ssl), MBEDTLS_ERR_SSL_WANT_READ);
	assert_true(cap.out_len <= size);
	memcpy(out, cap.out, cap.out_len);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return cap.out_len;
}

/* Scans buf as it would arrive one byte per read: EMU_TLS_HELLO_MORE for
 * every shorter prefix; returns the result at the first that is not, and
 * the length it needed in *at. */
static int scan_bytewise(const uint8_t *buf, size_t len, size_t *at)
{
	struct emu_tls_hello_scan sc = {0};
	for (*at = 1; *at <= len; (*at)++) {
		int st = emu_record_tls_hello_scan(&sc, buf, *at, EMU_TLS_RECORD_MAX);
		if (st != EMU_TLS_HELLO_MORE)
			return st;
	}
	return EMU_TLS_HELLO_MORE;
}

/* The ClientHello record re-cut into two records after `at` message bytes. */
static size_t split_record(const uint8_t *rec, size_t len, size_t at, uint8_t *out)
{
	size_t body = len - EMU_TLS_RECORD_HDR_LEN;
	memcpy(out, rec, EMU_TLS_RECORD_HDR_LEN);
	out[3] = (uint8_t)(at >> 8);
	out[4] = (uint8_t)at;
	memcpy(out + EMU_TLS_RECORD_HDR_LEN, rec + EMU_TLS_RECORD_HDR_LEN, at);
	uint8_t *second = out + EMU_TLS_RECORD_HDR_LEN + at;
	memcpy(second, rec, EMU_TLS_RECORD_HDR_LEN);
	second[3] = (uint8_t)((body - at) >> 8);
	second[4] = (uint8_t)(body - at);
	memcpy(second + EMU_TLS_RECORD_HDR_LEN, rec + EMU_TLS_RECORD_HDR_LEN + at, body - at);
	return len + EMU_TLS_RECORD_HDR_LEN;
}

/* A TLS stream's first ClientHello is recognised complete at its last byte
 * exactly, however it is cut into reads and records, and its SNI read. */
static void tls_hello_every_split(void **state)
{
	(void)state;
	static uint8_t rec[2048], two[2048 + EMU_TLS_RECORD_HDR_LEN], msg[HELLO_MAX];
	struct emu_client_hello ch;
	size_t at, len = tls_client_hello("Dev.Example", rec, sizeof(rec));
	assert_int_equal(scan_bytewise(rec, len, &at), EMU_TLS_HELLO_DONE);
	assert_int_equal(at, len);
	assert_int_equal(emu_record_tls_client_hello(rec, len, msg, sizeof(msg), &ch), 0);
	assert_int_equal(ch.sni_len, 11);
	assert_memory_equal(ch.sni, "Dev.Example", 11);
	for (size_t cut = 1; cut < len - EMU_TLS_RECORD_HDR_LEN; cut++) {
		size_t n = split_record(rec, len, cut, two);
		assert_int_equal(scan_bytewise(two, n, &at), EMU_TLS_HELLO_DONE);
		assert_int_equal(at, n);
		assert_int_equal(emu_record_tls_client_hello(two, n, msg, sizeof(msg), &ch), 0);
		assert_int_equal(ch.sni_len, 11);
		assert_memory_equal(ch.sni, "Dev.Example", 11);
	}
	/* Without SNI: parsed, no name. A message buffer too small: refused. */
	len = tls_client_hello(NULL, rec, sizeof(rec));
	assert_int_equal(emu_record_tls_client_hello(rec, len, msg, sizeof(msg), &ch), 0);
	assert_null(ch.sni);
	assert_int_equal(emu_record_tls_client_hello(rec, len, msg, 40, &ch), -1);
}

/* Anything else is refused at the first byte that shows it. */
static void tls_hello_refusals(void **state)
{
	(void)state;
	static const uint8_t http[] = "GET / HTTP/1.1";
	static const uint8_t sslv3_2[] = {22, 2, 0};
	static const uint8_t app_data[] = {23, 3, 3, 0, 3, 1, 2, 3};
	static const uint8_t server_hello[] = {22, 3, 3, 0, 8, 2, 0, 0, 4, 3, 3, 0, 0};
	static const uint8_t big_record[] = {22, 3, 3, 0x40, 0x01};
	static const uint8_t big_hello[] = {22, 3, 3, 0x40, 0x00, 1, 0, 0x40, 0x01};
	/* A first fragment, then an alert instead of the rest. */
	static const uint8_t interrupted[] = {22, 3, 3, 0, 2, 1, 0, 21, 3, 3, 0, 2, 2, 40};
	size_t at;
	struct emu_tls_hello_scan sc = {0};
	assert_int_equal(scan_bytewise(http, sizeof(http) - 1, &at), EMU_TLS_HELLO_NOT_TLS);
	assert_int_equal(at, 1);
	assert_int_equal(scan_bytewise(sslv3_2, sizeof(sslv3_2), &at), EMU_TLS_HELLO_NOT_TLS);
	assert_int_equal(at, 2);
	assert_int_equal(scan_bytewise(app_data, sizeof(app_data), &at),
			 EMU_TLS_HELLO_NOT_HANDSHAKE);
	assert_int_equal(at, sizeof(app_data));
	assert_int_equal(scan_bytewise(server_hello, sizeof(server_hello), &at),
			 EMU_TLS_HELLO_NOT_CLIENT_HELLO);
	assert_int_equal(at, 6);
	assert_int_equal(scan_bytewise(big_record, sizeof(big_record), &at),
			 EMU_TLS_HELLO_OVERSIZED_RECORD);
	assert_int_equal(at, 5);
	/* 4 + 0x4001 bytes: one more than a ClientHello may have. */
	assert_int_equal(scan_bytewise(big_hello, sizeof(big_hello), &at), EMU_TLS_HELLO_OVERSIZED);
	assert_int_equal(at, 9);
	assert_int_equal(
	    emu_record_tls_hello_scan(&sc, interrupted, sizeof(interrupted), EMU_TLS_RECORD_MAX),
	    EMU_TLS_HELLO_NOT_HANDSHAKE);
	assert_int_equal(sc.off, 7); /* where the alert record starts */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(client_hello_cookie_roundtrip),
	    cmocka_unit_test(cid_record_and_order),
	    cmocka_unit_test(garbage_is_rejected),
	    cmocka_unit_test(tls_hello_every_split),
	    cmocka_unit_test(tls_hello_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
