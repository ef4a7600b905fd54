/* bl_tls: the Mbed TLS pieces the load generator and the in-memory bound
 * share: one random generator, DTLS timers that need no system timer, and the
 * client configuration (PSK or ECDHE-ECDSA, optional Connection ID). */
#ifndef BL_TLS_H
#define BL_TLS_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <stdint.h>

/* The emulator's default PSK (lwm2m-emulator --help). */
#define BL_PSK_IDENTITY "lwm2m-emulator"
#define BL_PSK_KEY_HEX "6c776d326d2d7365637265742d6b6579"

enum bl_auth { BL_AUTH_PSK, BL_AUTH_ECDHE };

struct bl_tls_opts {
	enum bl_auth auth;
	const char *psk_identity;
	const char *psk_key_hex;
	const char *ca_file;  /* ECDHE: trust for the server certificate (PEM) */
	const char *hostname; /* ECDHE: name the certificate must carry */
	int cid;	      /* offer RFC 9146 Connection ID */
	size_t own_cid_len;   /* with cid: length of the CID we ask the server to send */
	int no_verify;	      /* ECDHE: skip the chain check (the generator's CPU is the limit) */
	const char *suite;    /* Mbed TLS suite name; NULL: the LwM2M default */
};

struct bl_tls {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	int suites[2];
	unsigned char psk[64];
	size_t psk_len;
	const char *hostname;
	int cid;
	size_t own_cid_len;
};

/* DTLS retransmission timer (mbedtls_ssl_set_timer_cb) on the monotonic clock. */
struct bl_timer {
	int64_t start_ms;
	uint32_t int_ms, fin_ms; /* fin_ms == 0: cancelled */
};

int64_t bl_mono_us(void);
void bl_timer_set(void *ctx, uint32_t int_ms, uint32_t fin_ms);
int bl_timer_get(void *ctx);

/* Seeds the random generator; 0 or -1 with a message on stderr. */
int bl_rng_init(struct bl_tls *t, const char *who);

/* Parses hex into out; its length, or -1 when not even-length hex or too long. */
int bl_hex_decode(const char *hex, unsigned char *out, size_t out_size);

/* The client configuration from opts; -1 with a message on stderr. */
int bl_tls_client_init(struct bl_tls *t, const struct bl_tls_opts *opts);
void bl_tls_free(struct bl_tls *t);

/* Sets ssl up for one new client connection on t->conf (hostname, CID). */
int bl_tls_client_setup(struct bl_tls *t, mbedtls_ssl_context *ssl, struct bl_timer *timer);

/* The same with conf (NULL: t->conf) and our own CID (own_cid_len bytes, as bl_tls_opts said): the
 * server then tags every record to us with it, so one socket can receive for
 * many sessions and tell them apart. */
int bl_tls_client_setup_cid(struct bl_tls *t, const mbedtls_ssl_config *conf,
			    mbedtls_ssl_context *ssl, struct bl_timer *timer,
			    const unsigned char *own_cid);

/* A PSK client config like t->conf (after bl_tls_client_init with PSK) but
 * with another identity, for clients that each have their own; the caller
 * frees it with mbedtls_ssl_config_free. 0 or an Mbed TLS error. */
int bl_tls_client_conf_psk(struct bl_tls *t, mbedtls_ssl_config *conf, const char *identity);

/* The suite id for name, or the LwM2M mandatory default for auth. */
int bl_tls_suite(enum bl_auth auth, const char *name);

/* "error text (-0x7780)" for ret. */
const char *bl_tls_strerror(int ret, char *buf, size_t size);

#endif
