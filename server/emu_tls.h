#ifndef EMU_TLS_H
#define EMU_TLS_H
#include <mbedtls/ssl.h>
#include <stdint.h>

struct emu_server;
struct emu_session;
struct emu_config;
struct emu_x509;

/* CoAP over TLS over TCP (RFC 8323). */
int emu_tls_init(struct emu_server *srv);
/* Sets conf up for TLS over TCP like the DTLS config of c: leaf's chain
 * and key, x's client CA set, c's suites and auth mode; SNI and
 * certificate callbacks of emu_vhost.c. Returns 0 or an Mbed TLS error. */
int emu_tls_setup_conf(struct emu_server *srv, mbedtls_ssl_config *conf, const struct emu_config *c,
		       const struct emu_x509 *leaf, const struct emu_x509 *x);
void emu_tls_fini(struct emu_server *srv);
void emu_tls_accept(struct emu_server *srv);
void emu_tls_readable(struct emu_server *srv, uint64_t session_id);

/* Closes a TLS connection without a RST overtaking what was sent; after a
 * fatal alert, it lingers in the loop until the peer closes (emu_linger.c). */
void emu_tls_close(struct emu_session *s, int after_alert);

#endif
