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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(client_hello_cookie_roundtrip),
	    cmocka_unit_test(cid_record_and_order),
	    cmocka_unit_test(garbage_is_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
