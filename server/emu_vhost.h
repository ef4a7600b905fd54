#ifndef EMU_VHOST_H
#define EMU_VHOST_H
#include <mbedtls/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>
#include "emu_x509.h"

struct emu_server;
struct emu_config;
struct emu_psks;

/* A virtual host at run time: its own Mbed TLS config (suites, CID,
 * certificate, CA, auth mode) and PSK table (NULL: the default's). The
 * default vhost is the server's own conf/x509/psk_table. */
struct emu_vhost {
	char name[256];
	mbedtls_ssl_config conf;
	mbedtls_ssl_config tls_conf; /* TLS over TCP (stream), same credentials */
	struct emu_x509 x509;
	const struct emu_psks *psk_table; /* its config's (emu_vhost_cfg.c) */
	int cid_enabled;
	int cid_length; /* of the CIDs this vhost assigns */
	UT_hash_handle hh;
};

/* SNI virtual hosts (emu_vhost.c). */
int emu_vhosts_init(struct emu_server *srv);
/* The length of the CID starting at cid (avail bytes there) in a tls12_cid
 * record: the one length in use, or (several in use) the one its first byte
 * names (EMU_CID_LEN_OF). -1: no host assigns such a CID. */
int emu_vhost_cid_len(const struct emu_server *srv, const uint8_t *cid, size_t avail);
/* The CID lengths the demux must know once a generation assigning lengths
 * (bit L: L-byte CIDs) is current: those plus the ones live sessions hold.
 * -1 with err when that takes a length byte in every CID (several lengths)
 * and some live CID has none; nothing is changed either way. */
int emu_vhost_cid_plan(const struct emu_server *srv, uint64_t lengths, uint64_t *out, char *err,
		       size_t err_size);
/* Makes the demux use these CID lengths. */
void emu_vhost_cid_set(struct emu_server *srv, uint64_t lengths);
/* Mbed TLS's certificate-selection callback: applies the policy for a
 * ClientHello without SNI (unrecognized_name alert when it is "reject"). */
int emu_vhost_cert_cb(mbedtls_ssl_context *ssl);
void emu_vhosts_fini(struct emu_server *srv);
/* Sets up cfg's vhosts into *table; *lengths gets the CID lengths in use
 * (bit L: L-byte CIDs), the server's own included. */
int emu_vhosts_open(struct emu_server *srv, const struct emu_config *cfg, struct emu_vhost **table,
		    uint64_t *lengths);
void emu_vhosts_free(struct emu_vhost **table);

/* Mbed TLS's SNI callback: records the name, refuses unknown ones when
 * configured to (unrecognized_name alert). */
int emu_vhost_sni_cb(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len);
/* The vhost for a ClientHello's SNI bytes, or NULL (default vhost). */
struct emu_vhost *emu_vhost_find(struct emu_server *srv, const uint8_t *name, size_t len);

#endif
