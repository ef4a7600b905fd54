/* shim_config.h: the client `config` object of the `configure` command
 * (docs/protocol.md), parsed strictly into what the layer and client need. */
#ifndef SHIM_CONFIG_H
#define SHIM_CONFIG_H
#include <jansson.h>

#include "client_shim/include/sl_layer.h"
#include "client_shim/shim_objects.h"

#define SHIM_MAX_SUITES 32
#define SHIM_MAX_DANE 8
#define SHIM_DANE_DATA_MAX 1024
#define SHIM_RECV_BUFFER_MAX 65536 /* the default: any datagram fits */

/* What the client does right after a connect while it holds a
 * registration (docs/protocol.md, "after_connect"). */
typedef enum {
	SHIM_AFTER_NOTHING = 0,
	SHIM_AFTER_REGISTER,
	SHIM_AFTER_UPDATE,
} shim_after_t;

/* One action per way the connection came up. */
typedef struct {
	shim_after_t full_handshake; /* default: register (the server may have lost us) */
	shim_after_t resumed;	     /* default: nothing (the registration is still valid) */
	shim_after_t cid_restored;   /* default: nothing (no handshake at all) */
} shim_after_connect_t;

typedef struct {
	char host[256];
	char port[8];
	sl_transport_t transport;
	sl_version_t min_version;
	sl_security_mode_t mode;
	char identity[256];
	unsigned char key[64];
	size_t key_len;
	char trust_store[512], crl[512], client_chain[512], client_key[512], key_password[128];
	int validation;
	char endpoint[128];
	long lifetime;
	char binding[8];
	int queue_mode; /* Register with the LwM2M 1.1 "Q" parameter */
	int use_cid;
	unsigned char own_cid[SL_CID_MAX];
	size_t own_cid_len;
	char sni[256];
	int has_sni;
	uint16_t suites[SHIM_MAX_SUITES];
	size_t n_suites;
	sl_handshake_timeouts_t hs;
	long request_timeout_ms;
	char keylog[512];
	size_t resumption_size; /* 0: no resumption buffer */
	uint32_t mtu;
	size_t recv_buffer_size; /* bytes passed to layer->receive per read */
	sl_dane_tlsa_t dane[SHIM_MAX_DANE];
	unsigned char dane_data[SHIM_MAX_DANE][SHIM_DANE_DATA_MAX];
	size_t n_dane;
	shim_objects_t objects; /* extra objects announced besides </1/0>,</3/0> */
	shim_after_connect_t after_connect;
} shim_config_t;

/* Parses obj into cfg (defaults first). On error returns -1 and writes a
 * message naming the JSON path ("$.config.security.key_hex: ...") to msg. */
int shim_config_parse(const json_t *obj, shim_config_t *cfg, char *msg, size_t msg_size);
/* Parses a DANE record array ("$.dane") into cfg->dane; same error rules. */
int shim_config_parse_dane(const json_t *arr, const char *path, shim_config_t *cfg, char *msg,
			   size_t msg_size);
/* "register", "update" or "nothing" for an action. */
const char *shim_config_after_name(shim_after_t a);
/* Fills the layer configuration from cfg (pointers into cfg). */
void shim_config_to_layer(const shim_config_t *cfg, sl_config_t *out, unsigned char *rbuf,
			  size_t rbuf_size);
/* Splits "host:port", "[v6]:port" into cfg->host/port; -1 if malformed. */
int shim_config_split_server(const char *text, shim_config_t *cfg);

#endif
