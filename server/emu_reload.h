#ifndef EMU_RELOAD_H
#define EMU_RELOAD_H
#include <jansson.h>
#include <mbedtls/ssl.h>

struct emu_server;
struct emu_session;
struct emu_config;
struct emu_vhost;
struct emu_x509;
struct emu_gen;

/* Credentials reloaded by SIGHUP / `ctl reload`. Each reload
 * builds a new generation (default Mbed TLS config, certificate, vhosts);
 * new handshakes use the newest, and an older one lives on until the last
 * session set up with it closes, because an Mbed TLS context keeps using
 * its config. The generation built at start is the server's own fields. */
/* Builds a generation from fresh (taking over what it owns; fresh is left
 * empty) and makes it and fresh's PSK table current. Returns 0, or -1 with
 * err and nothing changed. */
int emu_gen_reload(struct emu_server *srv, struct emu_config *fresh, char *err, size_t err_size);
/* The live settings (the last reload's, else the start's): the one source
 * every module reads its settings from. */
const struct emu_config *emu_gen_cfg(const struct emu_server *srv);
/* Makes fresh keep the running values of what needs a restart (sockets,
 * cookies, handshake timers, MTU, anti-replay, resumption, files); names
 * each one fresh wanted to change in ignored. */
void emu_gen_keep_restart_only(const struct emu_config *running, struct emu_config *fresh,
			       json_t *ignored);
/* The current default config and vhost table, for new sessions. */
mbedtls_ssl_config *emu_gen_conf(struct emu_server *srv);
struct emu_vhost **emu_gen_vhosts(struct emu_server *srv);
/* The current default stream config, for new TLS connections. */
mbedtls_ssl_config *emu_gen_tls_conf(struct emu_server *srv);
/* The vhost table of the generation session s was set up with. */
struct emu_vhost **emu_gen_session_vhosts(const struct emu_session *s);
/* SHA-256 of the current default certificate (hex). */
const char *emu_gen_fingerprint(const struct emu_server *srv);
/* The certificate session s presents when it has no vhost. */
const struct emu_x509 *emu_gen_x509(const struct emu_session *s);
/* A session starts / stops using the current generation. */
void emu_gen_hold(struct emu_session *s);
void emu_gen_release(struct emu_server *srv, struct emu_gen *gen);
/* Frees every generation (after all sessions are closed). */
void emu_gen_fini(struct emu_server *srv);

#endif
