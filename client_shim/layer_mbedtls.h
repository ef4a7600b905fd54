/* layer_mbedtls.h: the Mbed TLS reference layer's private state, shared by
 * its modules (layer_mbedtls_*.c). Users see only client_shim/include/sl_layer.h. */
#ifndef LAYER_MBEDTLS_H
#define LAYER_MBEDTLS_H
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/timing.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>
#include <sys/socket.h>

#include "client_shim/include/sl_layer.h"

#define LAYER_DANE_MAX 8
#define LAYER_DEAD_CLOSED 1 /* the peer closed it: the session may be resumed */
#define LAYER_DEAD_FATAL 2  /* fatal alert or error: nothing may be resumed */
#define LAYER_DANE_DATA_MAX 1024

/* One DANE record with its own copy of the data. */
typedef struct {
	sl_dane_tlsa_t rec;
	unsigned char data[LAYER_DANE_DATA_MAX];
} layer_dane_copy_t;

struct sl_socket {
	sl_config_t cfg; /* pointers below are our copies */
	char *psk_identity;
	unsigned char *psk_key;
	char *sni;
	char *keylog_file;
	uint16_t *suites_iana;
	int *suites; /* zero-terminated, for mbedtls_ssl_conf_ciphersuites */
	unsigned char own_cid[SL_CID_MAX];

	char host_name[256]; /* name the certificate must carry, "" if none */
	int fd;
	int net_errno; /* errno of the last failed socket call */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	int connected;	     /* handshake done (or context restored) */
	int dead;	     /* LAYER_DEAD_*: how the connection ended, 0 while alive */
	uint64_t records_in; /* application records received on this connection */
	uint32_t last_sent;  /* FNV-1a of the last plaintext sent */
	int sent_since_in;   /* sent anything since the last record received */
	int retransmitted;   /* the same plaintext sent twice, no record between */
	int unanswered;	     /* the caller gave up on a request, no record since */
	int ssl_ready;	     /* ssl/conf set up */

	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_timing_delay_context timer;
	mbedtls_x509_crt ca;
	mbedtls_x509_crl crl;
	mbedtls_x509_crt own_cert;
	mbedtls_pk_context own_key;
	mbedtls_ssl_session saved; /* session kept across close for resumption */
	int have_saved;

	int64_t recv_timeout_ms;
	sl_handshake_timeouts_t hs_timeouts;
	int session_resumed;
	int cid_resumed;
	sl_alert_t last_alert;
	uint64_t bytes_sent;
	uint64_t bytes_received;

	layer_dane_copy_t dane[LAYER_DANE_MAX];
	size_t dane_count;
	uint32_t dane_upper_flags; /* PKIX flags of the chain above the end entity */
	int dane_ca_matched;	   /* a usage-0 record matched a CA of the built path */
};

/* layer_mbedtls.c */
const sl_vtable_t *layer_mbedtls_vtable(void);

/* layer_mbedtls_err.c */
int layer_err_set(sl_error_t *err, int code, int lib_error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int layer_err_from_mbedtls(sl_socket_t *s, sl_error_t *err, int ret, const char *what);

/* layer_mbedtls_conf.c */
int layer_conf_copy(sl_socket_t *s, const sl_config_t *cfg, sl_error_t *err);
int layer_conf_setup(sl_socket_t *s, const sl_config_t *in, sl_error_t *err);
void layer_conf_free(sl_socket_t *s);

/* layer_mbedtls_net.c */
int layer_net_open(sl_socket_t *s, const char *host, const char *port, sl_error_t *err);
void layer_net_close(sl_socket_t *s);
int layer_net_send(void *ctx, const unsigned char *buf, size_t len);
int layer_net_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t timeout_ms);

/* layer_mbedtls_resume.c */
#define LAYER_RESUME_NONE 0
#define LAYER_RESUME_SESSION 1
#define LAYER_RESUME_CONTEXT 2
/* Wraps a blob in the buffer format; returns bytes used or -1 if it does not fit. */
long layer_resume_pack(unsigned char *buf, size_t size, int kind, const unsigned char *blob,
		       size_t blob_len);
/* Finds the blob in a buffer; returns its kind (NONE when empty or corrupt). */
int layer_resume_unpack(const unsigned char *buf, size_t size, const unsigned char **blob,
			size_t *blob_len);
int layer_resume_after_handshake(sl_socket_t *s);
/* context_ok: 0 keeps only the session (the context proved nothing). */
int layer_resume_at_close(sl_socket_t *s, int context_ok);
/* Forgets the session and empties the buffer (after a fatal error). */
void layer_resume_forget(sl_socket_t *s);
int layer_resume_apply(sl_socket_t *s, int *restored_context);

/* layer_mbedtls_opt.c */
int layer_opt_get(sl_socket_t *s, sl_option_t opt, sl_option_value_t *v);
int layer_opt_set(sl_socket_t *s, sl_option_t opt, const sl_option_value_t *v);
size_t layer_inner_mtu(sl_socket_t *s);

/* layer_mbedtls_dane.c */
int layer_dane_set(sl_socket_t *s, const sl_dane_tlsa_t *recs, size_t count);
int layer_dane_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags);
int layer_dane_match(const sl_dane_tlsa_t *rec, const unsigned char *der, size_t der_len,
		     const unsigned char *spki, size_t spki_len);

/* layer_mbedtls_ipsan.c */
int layer_ipsan_match(const mbedtls_x509_crt *crt, const unsigned char *ip, size_t ip_len);
int layer_ipsan_check(sl_socket_t *s, const char *host, sl_error_t *err);

/* layer_mbedtls_keylog.c */
void layer_keylog_cb(void *ctx, mbedtls_ssl_key_export_type type, const unsigned char *secret,
		     size_t secret_len, const unsigned char client_random[32],
		     const unsigned char server_random[32], mbedtls_tls_prf_types prf);

#endif
