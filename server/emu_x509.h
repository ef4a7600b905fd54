#ifndef EMU_X509_H
#define EMU_X509_H
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

struct emu_server;

/* The server's X.509 identity: a configured chain + key, or, when none is
 * configured, a self-signed EC P-256 certificate generated in memory at
 * start (its SHA-256 fingerprint is what a device pins for usage 3), plus
 * the CA set that client certificates are checked against. */
struct emu_x509 {
	mbedtls_x509_crt chain;
	mbedtls_pk_context key;
	mbedtls_x509_crt ca;
	int have_ca;
	int generated;	 /* made in memory at start, not loaded from a file */
	int self_signed; /* issuer == subject and signed by its own key */
	char subject[256];
	char fingerprint[65]; /* SHA-256 of the leaf's DER, lower-case hex */
};

struct emu_config;

/* Loads c's certificate (or generates one for CN=cn), then configures conf
 * with it, c's CA set and client-auth mode; emits `certificate`. Returns 0
 * or -1 (message printed). */
int emu_x509_setup(struct emu_server *srv, struct emu_x509 *x, mbedtls_ssl_config *conf,
		   const struct emu_config *c, const char *cn, const char *vhost);
/* Like emu_x509_setup, but presents leaf's chain and key (which must
 * outlive conf) instead of loading or generating one; x gets c's CA set
 * and leaf's subject and fingerprint. */
int emu_x509_setup_shared(struct emu_x509 *x, const struct emu_x509 *leaf, mbedtls_ssl_config *conf,
			  const struct emu_config *c);
void emu_x509_free(struct emu_x509 *x);
/* 1 when crt (the first of a chain) names itself as issuer and its
 * signature verifies with its own public key, else 0. */
int emu_x509_is_self_signed(const mbedtls_x509_crt *crt);
/* SHA-256 of der as lower-case hex (65 bytes with NUL). */
void emu_x509_fingerprint(const unsigned char *der, size_t len, char out[65]);

#endif
