#ifndef EMU_DTLS_H
#define EMU_DTLS_H
#include <mbedtls/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <jansson.h>

struct emu_server;
struct emu_session;
struct emu_config;
struct emu_vhost;
struct emu_x509;

/* The Mbed TLS side of DTLS sessions (emu_dtls.c): the shared config,
 * stateless cookies, handshakes and records through in-memory bios, the
 * DTLS transport table. */
int emu_dtls_init(struct emu_server *srv);
void emu_dtls_fini(struct emu_server *srv);
/* Makes cfg's PSK table the one new handshakes use (established sessions
 * are unaffected); cfg must outlive that use (it is the current
 * generation's). */
void emu_dtls_load_psks(struct emu_server *srv, const struct emu_config *cfg);
/* Fills conf with the DTLS settings: global ones from srv->cfg, suites from
 * v (when it has any), CID when cid_enabled. Returns an Mbed TLS code. */
int emu_dtls_setup_conf(struct emu_server *srv, mbedtls_ssl_config *conf,
			const struct emu_config *v, int cid_enabled);

/* Handles a datagram that is not for a known session: answers a ClientHello
 * statelessly with a HelloVerifyRequest, or creates the session once the
 * cookie checks out; anything else is dropped and counted. */
void emu_dtls_new_peer(struct emu_server *srv, const uint8_t *buf, size_t len,
		       const struct sockaddr *peer, socklen_t peer_len);
/* Feeds one datagram to an existing session (handshake or application data). */
void emu_dtls_input(struct emu_session *s, const uint8_t *buf, size_t len);
/* Feeds a datagram that reached s by its CID from another address. */
void emu_dtls_input_moved(struct emu_session *s, const uint8_t *buf, size_t len,
			  const struct sockaddr *from, socklen_t from_len);
/* Encrypts and sends plaintext to the peer (DTLS record, or TLS stream). */
void emu_dtls_send_app(struct emu_session *s, const uint8_t *buf, size_t len);
/* Has Mbed TLS hand s the master secret of each handshake: for the key
 * log, and for s's lineage (which a resumed session shares). */
void emu_dtls_keys_attach(struct emu_session *s);
/* The handshake of s is done: reports it, and s starts carrying CoAP and
 * its device. Returns 0, or -1 when s was closed. */
int emu_dtls_established(struct emu_session *s);
/* Gives s->ssl (set up, not yet loaded) this server's callbacks: user
 * data, bios, timers, MTU, key export (a session woken from hibernation). */
void emu_dtls_attach(struct emu_session *s);
/* Recreates an established session from mbedtls_ssl_context_save output
 * (graceful restart). Returns it indexed, or NULL with err. */
struct emu_session *emu_dtls_restore(struct emu_server *srv, struct emu_vhost *vhost,
				     const struct sockaddr *peer, socklen_t peer_len,
				     const uint8_t *cid, size_t cid_len, const uint8_t *blob,
				     size_t len, char *err, size_t err_size);
/* Shared with TLS/TCP (emu_tls.c): the PSK callback and the two
 * handshake reports. */
int emu_dtls_psk_cb(void *p, mbedtls_ssl_context *ssl, const unsigned char *id, size_t id_len);
void emu_dtls_report_done(struct emu_session *s);
void emu_dtls_report_failed(struct emu_session *s, int err);
/* Sends the fatal alert owed for a failed client authentication, if any. */
void emu_dtls_send_failure_alert(struct emu_session *s, int err);

#endif
