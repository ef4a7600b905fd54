/* sl_layer.h: the client socket-layer contract ("sl" = socket layer).
 *
 * A (D)TLS socket layer, as an LwM2M client such as Anjay needs it, modelled
 * on the avs_net socket contract (_avs_net_create_dtls_socket and
 * avs_net_socket_v_table_t). docs/socket-layer.md maps every item to its
 * avs_net name. A layer is either linked in, or a shared object exporting
 * SL_ENTRY_SYMBOL, which returns its vtable; the caller checks abi_version.
 *
 * Every operation returns 0 or an errno value (ETIMEDOUT, EMSGSIZE,
 * ECONNREFUSED, EPROTO, EINVAL, ...) and, when err is not NULL, fills it with
 * the details: the TLS alert received if any and the library's own code.
 */
#ifndef SL_LAYER_H
#define SL_LAYER_H
#include <stddef.h>
#include <stdint.h>

#define SL_ABI_VERSION 1
#define SL_ENTRY_SYMBOL "sl_layer_entry"

typedef struct sl_socket sl_socket_t;

typedef enum { SL_TRANSPORT_DTLS = 0, SL_TRANSPORT_TLS = 1 } sl_transport_t;

typedef enum {
	SL_VERSION_DEFAULT = 0, /* (D)TLS 1.2 */
	SL_VERSION_TLS1_2 = 1,
	SL_VERSION_TLS1_3 = 2
} sl_version_t;

typedef enum { SL_SECURITY_PSK = 0, SL_SECURITY_CERTIFICATE = 1 } sl_security_mode_t;

typedef struct {
	const char *identity;
	const unsigned char *key;
	size_t key_len;
} sl_psk_t;

/* PEM or DER files. NULL = not given. */
typedef struct {
	int server_cert_validation; /* 0: accept any server certificate */
	const char *trust_store_file;
	const char *crl_file;
	const char *client_chain_file;
	const char *client_key_file;
	const char *client_key_password;
} sl_cert_t;

typedef struct {
	uint32_t min_ms;
	uint32_t max_ms;
} sl_handshake_timeouts_t;

/* DANE TLSA record (RFC 6698), as LwM2M Certificate Usage uses it. */
typedef enum {
	SL_DANE_CA_CONSTRAINT = 0,	     /* PKIX-TA */
	SL_DANE_SERVICE_CERT_CONSTRAINT = 1, /* PKIX-EE */
	SL_DANE_TRUST_ANCHOR_ASSERTION = 2,  /* DANE-TA */
	SL_DANE_DOMAIN_ISSUED_CERT = 3	     /* DANE-EE */
} sl_dane_usage_t;
typedef enum { SL_DANE_SELECTOR_CERT = 0, SL_DANE_SELECTOR_SPKI = 1 } sl_dane_selector_t;
typedef enum {
	SL_DANE_MATCH_FULL = 0,
	SL_DANE_MATCH_SHA256 = 1,
	SL_DANE_MATCH_SHA512 = 2
} sl_dane_matching_t;

typedef struct {
	sl_dane_usage_t usage;
	sl_dane_selector_t selector;
	sl_dane_matching_t matching;
	const unsigned char *data;
	size_t data_len;
} sl_dane_tlsa_t;

/* Creation-time configuration (avs_net_ssl_configuration_t). The layer copies
 * what it needs, except resumption_buffer, which stays owned by the caller and
 * must outlive the socket: the layer reads it on connect and writes it after
 * a fresh handshake and on close. */
typedef struct {
	sl_transport_t transport;
	sl_version_t min_version;
	sl_security_mode_t mode;
	sl_psk_t psk;
	sl_cert_t cert;
	unsigned char *resumption_buffer; /* NULL (or size 0): no resumption */
	size_t resumption_buffer_size;
	const uint16_t *ciphersuites; /* IANA ids; NULL/0: the library's default */
	size_t num_ciphersuites;
	const char *sni; /* NULL: the host given to connect (if not an address) */
	int use_connection_id;
	const unsigned char *own_cid; /* with use_connection_id: our CID, may be 0 long */
	size_t own_cid_len;
	sl_handshake_timeouts_t handshake_timeouts; /* 0/0: 1000..60000 ms */
	const char *keylog_file;		    /* NSS key log appended here when not NULL */
	uint32_t mtu; /* link MTU in bytes incl. IP/UDP headers; 0: 1500 */
} sl_config_t;

typedef enum {
	SL_OPT_RECV_TIMEOUT = 0,	    /* i64: ms, -1 = forever (rw) */
	SL_OPT_SESSION_RESUMED = 1,	    /* flag (ro) */
	SL_OPT_CONNECTION_ID_RESUMED = 2,   /* flag (ro) */
	SL_OPT_INNER_MTU = 3,		    /* u64 (ro) */
	SL_OPT_MTU = 4,			    /* u64: link MTU (rw) */
	SL_OPT_HAS_BUFFERED_DATA = 5,	    /* flag (ro) */
	SL_OPT_DANE_TLSA = 6,		    /* dane (wo, before connect) */
	SL_OPT_DTLS_HANDSHAKE_TIMEOUTS = 7, /* timeouts (rw) */
	SL_OPT_CIPHERSUITE = 8,		    /* suite (ro) */
	SL_OPT_CONNECTION_ID = 9,	    /* cid (ro) */
	SL_OPT_LAST_ALERT = 10,		    /* alert (ro) */
	SL_OPT_BYTES_SENT = 11,		    /* u64 (ro) */
	SL_OPT_BYTES_RECEIVED = 12,	    /* u64 (ro) */
	/* flag (wo): the caller gave up on a request it sent on this connection
	 * (no answer within its own timeout). If no record arrived since, the
	 * peer may have forgotten the connection: at close the CID context is
	 * not kept (the session is). Layers that cannot tell may ignore it. */
	SL_OPT_REQUEST_UNANSWERED = 13
} sl_option_t;

typedef struct {
	int received; /* 0: none */
	uint8_t level;
	uint8_t description;
} sl_alert_t;

#define SL_CID_MAX 32

typedef union {
	int64_t i64;
	uint64_t u64;
	int flag;
	sl_handshake_timeouts_t timeouts;
	struct {
		const sl_dane_tlsa_t *records;
		size_t count;
	} dane;
	struct {
		uint16_t id;
		char name[64];
	} suite;
	struct {
		int negotiated;
		size_t own_len;
		size_t peer_len;
		unsigned char own[SL_CID_MAX];
		unsigned char peer[SL_CID_MAX];
	} cid;
	sl_alert_t alert;
} sl_option_value_t;

/* What went wrong, in more detail than the errno value. */
typedef struct {
	int code;	  /* errno value, as returned */
	int lib_error;	  /* the TLS library's own code, 0 if none */
	sl_alert_t alert; /* alert received from the peer, if any */
	char message[160];
} sl_error_t;

/* Capabilities a layer may lack (vtable.lacks). */
#define SL_LACKS_CID (1u << 0)
#define SL_LACKS_CONTEXT_RESUMPTION (1u << 1)
#define SL_LACKS_SESSION_RESUMPTION (1u << 2)
#define SL_LACKS_DANE (1u << 3)
#define SL_LACKS_TLS (1u << 4)
#define SL_LACKS_CERTIFICATES (1u << 5)
#define SL_LACKS_KEYLOG (1u << 6)

typedef struct sl_vtable {
	uint32_t abi_version; /* SL_ABI_VERSION the layer was built for */
	uint32_t size;	      /* sizeof(sl_vtable_t) */
	const char *name;
	uint32_t lacks; /* SL_LACKS_* */
	int (*create)(sl_socket_t **out, const sl_config_t *config, sl_error_t *err);
	/* Resolves host:port, connects, performs (or skips, when the buffer holds
	 * a context) the handshake. */
	int (*connect)(sl_socket_t *sock, const char *host, const char *port, sl_error_t *err);
	/* Sends one datagram (DTLS) or the whole buffer (TLS). */
	int (*send)(sl_socket_t *sock, const void *buf, size_t len, sl_error_t *err);
	/* Receives one datagram within SL_OPT_RECV_TIMEOUT. A datagram larger than
	 * size is dropped with EMSGSIZE. For TLS: what is available, up to size. */
	int (*receive)(sl_socket_t *sock, void *buf, size_t size, size_t *out_len, sl_error_t *err);
	/* Closes the connection, keeping the session (and the resumption buffer). */
	int (*close)(sl_socket_t *sock);
	/* Frees everything; *sock becomes NULL. */
	void (*cleanup)(sl_socket_t **sock);
	/* The descriptor to poll() for readability, -1 when not connected. */
	int (*get_system_socket)(sl_socket_t *sock);
	int (*get_option)(sl_socket_t *sock, sl_option_t opt, sl_option_value_t *value);
	int (*set_option)(sl_socket_t *sock, sl_option_t opt, const sl_option_value_t *value);
} sl_vtable_t;

typedef const sl_vtable_t *(*sl_entry_fn)(void);

/* The reference Mbed TLS layer's vtable (also its SL_ENTRY_SYMBOL). */
const sl_vtable_t *sl_layer_entry(void);

#endif
