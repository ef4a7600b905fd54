/* bl_tls: shared Mbed TLS setup for bench_load and bench_bound (see
 * bl_tls.h). Both must configure the client the same way, so that the bound
 * measures the very handshake the load generator drives. */
#include "bl_tls.h"

#include <mbedtls/error.h>
#include <psa/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Monotonic time: wall-clock steps must not bend latencies. */
int64_t bl_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Mbed TLS arms (or, with fin_ms 0, cancels) the retransmission timer. */
void bl_timer_set(void *ctx, uint32_t int_ms, uint32_t fin_ms)
{
	struct bl_timer *t = ctx;
	t->start_ms = bl_mono_us() / 1000;
	t->int_ms = int_ms;
	t->fin_ms = fin_ms;
}

/* Mbed TLS's contract: -1 cancelled, 0 none passed, 1 intermediate, 2 final. */
int bl_timer_get(void *ctx)
{
	struct bl_timer *t = ctx;
	int64_t elapsed;
	if (t->fin_ms == 0)
		return -1;
	elapsed = bl_mono_us() / 1000 - t->start_ms;
	if (elapsed >= t->fin_ms)
		return 2;
	return elapsed >= t->int_ms ? 1 : 0;
}

/* Mbed TLS's text and code, for messages that say what failed. */
const char *bl_tls_strerror(int ret, char *buf, size_t size)
{
	char text[128];
	mbedtls_strerror(ret, text, sizeof(text));
	snprintf(buf, size, "%s (-0x%04x)", text, (unsigned)-ret);
	return buf;
}

/* One DRBG for all clients: seeding one per client would cost more
 * than their handshakes. */
int bl_rng_init(struct bl_tls *t, const char *who)
{
	int ret;
	/* Mbed TLS 3.6 routes some hashing through PSA even without USE_PSA. */
	if (psa_crypto_init() != PSA_SUCCESS) {
		fprintf(stderr, "%s: psa_crypto_init failed\n", who);
		return -1;
	}
	mbedtls_entropy_init(&t->entropy);
	mbedtls_ctr_drbg_init(&t->drbg);
	ret = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
				    (const unsigned char *)who, strlen(who));
	if (ret != 0) {
		char e[160];
		fprintf(stderr, "%s: seeding the random generator: %s\n", who,
			bl_tls_strerror(ret, e, sizeof(e)));
		return -1;
	}
	return 0;
}

/* Strict: every character must be hex, so a typo in --psk is reported. */
int bl_hex_decode(const char *hex, unsigned char *out, size_t out_size)
{
	size_t n = strlen(hex), i;
	if (n == 0 || n % 2 || n / 2 > out_size)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
			return -1;
		out[i] = (unsigned char)v;
	}
	return (int)(n / 2);
}

/* See bl_tls.h. */
int bl_tls_suite(enum bl_auth auth, const char *name)
{
	if (name)
		return mbedtls_ssl_get_ciphersuite_id(name);
	/* The suites LwM2M 1.1 mandates (OMA-TS-LightweightM2M_Transport §5.2.8). */
	return auth == BL_AUTH_PSK ? MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8
				   : MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
}

/* PSK or trust for the server certificate, per opts->auth. */
static int client_credentials(struct bl_tls *t, const struct bl_tls_opts *o, char *e, size_t es)
{
	int ret, n;
	if (o->auth == BL_AUTH_PSK) {
		n = bl_hex_decode(o->psk_key_hex, t->psk, sizeof(t->psk));
		if (n < 0) {
			snprintf(e, es, "PSK key '%s' is not hex of at most 64 bytes",
				 o->psk_key_hex);
			return -1;
		}
		t->psk_len = (size_t)n;
		ret = mbedtls_ssl_conf_psk(&t->conf, t->psk, t->psk_len,
					   (const unsigned char *)o->psk_identity,
					   strlen(o->psk_identity));
		if (ret != 0) {
			char m[160];
			snprintf(e, es, "PSK: %s", bl_tls_strerror(ret, m, sizeof(m)));
		}
		return ret ? -1 : 0;
	}
	ret = mbedtls_x509_crt_parse_file(&t->ca, o->ca_file);
	if (ret != 0) {
		char m[160];
		snprintf(e, es, "CA file %s: %s (run 'make certs')", o->ca_file,
			 bl_tls_strerror(ret, m, sizeof(m)));
		return -1;
	}
	mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
	/* The ServerKeyExchange signature is checked either way; VERIFY_NONE only
	 * skips the chain, two ECDSA verifications the server never pays for. */
	mbedtls_ssl_conf_authmode(&t->conf, o->no_verify ? MBEDTLS_SSL_VERIFY_NONE
							 : MBEDTLS_SSL_VERIFY_REQUIRED);
	return 0;
}

/* What every client config shares besides its credentials. */
static void client_common(struct bl_tls *t, mbedtls_ssl_config *conf)
{
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &t->drbg);
	mbedtls_ssl_conf_ciphersuites(conf, t->suites);
	mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
	/* 1 s first retransmission as RFC 6347 says; give up after ~15 s. */
	mbedtls_ssl_conf_handshake_timeout(conf, 1000, 8000);
	if (t->cid)
		mbedtls_ssl_conf_cid(conf, t->own_cid_len, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE);
}

/* One shared client config, so every client handshakes the same way. */
int bl_tls_client_init(struct bl_tls *t, const struct bl_tls_opts *o)
{
	char e[256] = "";
	int ret;
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_x509_crt_init(&t->ca);
	t->hostname = o->hostname;
	t->cid = o->cid;
	t->own_cid_len = o->own_cid_len;
	t->suites[0] = bl_tls_suite(o->auth, o->suite);
	t->suites[1] = 0;
	if (t->suites[0] == 0) {
		fprintf(stderr,
			"bench: unknown ciphersuite '%s' (an Mbed TLS name such as "
			"TLS-PSK-WITH-AES-128-CCM-8)\n",
			o->suite);
		return -1;
	}
	ret =
	    mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_DATAGRAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret != 0 || client_credentials(t, o, e, sizeof(e)) < 0) {
		fprintf(stderr, "bench: client TLS setup: %s\n", e[0] ? e : "config defaults");
		return -1;
	}
	client_common(t, &t->conf);
	return 0;
}

/* See bl_tls.h: the PSK key of t->conf under another identity. */
int bl_tls_client_conf_psk(struct bl_tls *t, mbedtls_ssl_config *conf, const char *identity)
{
	int ret;
	mbedtls_ssl_config_init(conf);
	ret =
	    mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_DATAGRAM,
					MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret == 0)
		ret = mbedtls_ssl_conf_psk(conf, t->psk, t->psk_len,
					   (const unsigned char *)identity, strlen(identity));
	if (ret == 0)
		client_common(t, conf);
	return ret;
}

/* See bl_tls.h. */
void bl_tls_free(struct bl_tls *t)
{
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_x509_crt_free(&t->ca);
	mbedtls_ctr_drbg_free(&t->drbg);
	mbedtls_entropy_free(&t->entropy);
}

/* Per-connection part of the setup (see bl_tls.h). */
int bl_tls_client_setup(struct bl_tls *t, mbedtls_ssl_context *ssl, struct bl_timer *timer)
{
	return bl_tls_client_setup_cid(t, NULL, ssl, timer, NULL);
}

/* See bl_tls.h; own_cid NULL: an empty CID of our own. */
int bl_tls_client_setup_cid(struct bl_tls *t, const mbedtls_ssl_config *conf,
			    mbedtls_ssl_context *ssl, struct bl_timer *timer,
			    const unsigned char *own_cid)
{
	int ret;
	mbedtls_ssl_init(ssl);
	ret = mbedtls_ssl_setup(ssl, conf ? conf : &t->conf);
	if (ret == 0 && t->hostname)
		ret = mbedtls_ssl_set_hostname(ssl, t->hostname);
	/* Our own CID is empty: the server sends to us without one, but we
	 * send with the one it assigns, which is what lets it find us. */
	if (ret == 0 && t->cid)
		ret = mbedtls_ssl_set_cid(ssl, MBEDTLS_SSL_CID_ENABLED, own_cid,
					  own_cid ? t->own_cid_len : 0);
	mbedtls_ssl_set_timer_cb(ssl, timer, bl_timer_set, bl_timer_get);
	return ret;
}
