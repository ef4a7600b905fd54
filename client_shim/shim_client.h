/* shim_client.h: the LwM2M client's plumbing: one socket-layer connection,
 * the libcoap context talking plain CoAP through the loopback relay, and the
 * event loop that moves bytes between them like a real client would. */
#ifndef SHIM_CLIENT_H
#define SHIM_CLIENT_H
#include <coap3/coap.h>

#include "client_shim/include/sl_layer.h"
#include "client_shim/shim_config.h"
#include "client_shim/shim_relay.h"
#include "client_shim/shim_wire.h"

#define SHIM_LOCATION_MAX 256

/* The one request in flight (LwM2M clients send one at a time). */
typedef struct {
	uint8_t token[8];
	size_t token_len;
	int active;
	int done;   /* a response arrived */
	int failed; /* libcoap gave up (NACK) */
	int nack;   /* coap_nack_reason_t */
	int code;   /* class*100 + detail, e.g. 201 */
	char location[SHIM_LOCATION_MAX];
	char payload[512];
} shim_pending_t;

typedef struct shim_client {
	const sl_vtable_t *vt;
	sl_socket_t *sock;
	shim_config_t cfg;
	int configured;
	int connected;
	unsigned char *rbuf; /* the resumption buffer (we are its owner) */
	size_t rbuf_size;
	coap_context_t *ctx;
	coap_session_t *session;
	shim_relay_t relay;
	int relay_stream;
	shim_pending_t req;
	char location[SHIM_LOCATION_MAX]; /* registration, "" when not registered */
	sl_error_t link_err;		  /* last error the layer reported while pumping */
	int link_failed;
	int asleep;	   /* queue mode: not reading the layer until wake or a request */
	int update_due;	   /* the server executed /1/0/8: send an Update when idle */
	int bootstrapping; /* between Bootstrap-Request and -Finish: /0 is open */
	int bs_result;	   /* 0 waiting, 1 Finish accepted, -1 Finish refused */
	char bs_reason[160];
	/* The certificates of a bootstrapped account, as files for the layer
	 * (which may read them again on any reconnect): kept until the account
	 * changes or the client is freed. "": none. */
	char bs_dir[512];
	uint64_t sent_datagrams, recv_datagrams;
	int server_requests;	  /* requests the server sent us so far */
	int request_mark;	  /* server_requests the last wait_request reported */
	struct shim_obs *obs;	  /* Observe state of /3/0 (shim_lwm2m.c) */
	struct shim_model *model; /* values the server writes (shim_ops.c) */
	struct shim_watch *watch; /* observed resources, attributes (shim_watch.c) */
	unsigned coap_mtu;	  /* INNER_MTU applied to the libcoap session, 0: none yet */
	shim_wire_t wire;	  /* what the current request handed to the layer */
} shim_client_t;

/* Sets up libcoap; vt is the layer to use. Returns 0 or -1 (message on stderr). */
int shim_client_init(shim_client_t *c, const sl_vtable_t *vt);
void shim_client_free(shim_client_t *c);
/* Applies a parsed config: creates a fresh layer socket (closing the old one). */
int shim_client_configure(shim_client_t *c, const shim_config_t *cfg, sl_error_t *err);
/* Layer connect (resolve + handshake or context restore). */
int shim_client_connect(shim_client_t *c, sl_error_t *err);
/* Sizes libcoap's datagrams to the layer's INNER_MTU (DTLS; a no-op when
 * it did not change since the last call). */
void shim_client_apply_mtu(shim_client_t *c);
/* Replaces the libcoap session (pending requests are dropped). */
int shim_client_reset_coap(shim_client_t *c, sl_error_t *err);
/* Drops every pending libcoap exchange (the shim gave up on them): they are
 * never sent again, on this connection or the next. */
int shim_client_drop_exchanges(shim_client_t *c, sl_error_t *err);
/* Layer close (keeps the session for resumption). */
void shim_client_close(shim_client_t *c);
/* Runs the loop for up to timeout_ms or until done(c) is true; returns 1 when
 * done, 0 on timeout. A negative timeout polls once without waiting. */
int shim_client_pump(shim_client_t *c, long timeout_ms, int (*done)(shim_client_t *c));
/* File descriptors the main loop must poll (relay, layer, libcoap), count. */
int shim_client_fds(shim_client_t *c, int *fds, int max);

#endif
