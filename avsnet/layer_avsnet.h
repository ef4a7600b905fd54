/* layer_avsnet.h: the sl_layer.h contract on top of any avs_net (D)TLS
 * socket, through avs_commons' public API only (avs_net.h, avs_socket.h,
 * avs_crypto_p*.h). Which backend does the TLS (avs_commons' Mbed TLS or
 * OpenSSL one, or a team's own _avs_net_create_dtls_socket) is decided at
 * link time; this code does not know. docs/socket-layer.md maps each item. */
#ifndef LAYER_AVSNET_H
#define LAYER_AVSNET_H
#include <avsystem/commons/avs_crypto_pki.h>
#include <avsystem/commons/avs_crypto_psk.h>
#include <avsystem/commons/avs_net.h>
#include <avsystem/commons/avs_prng.h>
#include <avsystem/commons/avs_socket.h>

#include "client_shim/include/sl_layer.h"

/* The part of the configuration that must outlive the avs_net socket:
 * avs_net keeps pointers to the timeouts, the files and the PRNG. */
typedef struct {
	avs_net_ssl_configuration_t ssl;
	avs_net_dtls_handshake_timeouts_t hs;
	uint32_t *suites;
	unsigned char *identity;
	unsigned char *key;
	size_t identity_len;
	size_t key_len;
	char *trust_store;
	char *crl;
	char *client_chain;
	char *client_key;
	char *key_password;
	char *sni;
} layer_avsnet_conf_t;

struct sl_socket {
	avs_net_socket_t *avs;
	avs_crypto_prng_ctx_t *prng;
	layer_avsnet_conf_t conf;
	sl_transport_t transport;
	int connected;
	int has_dane; /* the socket was recreated with DANE enabled */
	sl_alert_t last_alert;
	int64_t recv_timeout_ms; /* kept to re-apply on a recreated socket */
};

/* layer_avsnet_conf.c */
int layer_avsnet_conf_build(layer_avsnet_conf_t *c, const sl_config_t *cfg,
			    avs_crypto_prng_ctx_t *prng, sl_error_t *err);
void layer_avsnet_conf_free(layer_avsnet_conf_t *c);

/* layer_avsnet_err.c */
int layer_avsnet_err_set(sl_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int layer_avsnet_err(sl_socket_t *s, sl_error_t *err, avs_error_t e, const char *what);
int layer_avsnet_errno(avs_error_t e);

/* layer_avsnet_opt.c */
int layer_avsnet_get_option(sl_socket_t *s, sl_option_t opt, sl_option_value_t *v);
int layer_avsnet_set_option(sl_socket_t *s, sl_option_t opt, const sl_option_value_t *v);

/* layer_avsnet.c */
int layer_avsnet_open(sl_socket_t *s, int dane, sl_error_t *err);

#endif
