/* shim_relay.h: the loopback socket between libcoap (plain CoAP) and the
 * socket layer. UDP for DTLS (one datagram each way), TCP for TLS (a byte
 * stream; libcoap connects, the relay accepts). */
#ifndef SHIM_RELAY_H
#define SHIM_RELAY_H
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

typedef struct {
	int stream;		      /* 0: UDP, 1: TCP */
	int fd;			      /* UDP socket or TCP listener */
	int conn_fd;		      /* TCP: the accepted libcoap connection, -1 if none */
	struct sockaddr_storage addr; /* where libcoap must send */
	socklen_t addr_len;
	struct sockaddr_storage coap; /* libcoap's own address (UDP), learnt */
	socklen_t coap_len;
	unsigned long stale; /* datagrams discarded: not from the current session */
} shim_relay_t;

/* Opens the relay on 127.0.0.1, any port. Returns 0 or an errno value. */
int shim_relay_open(shim_relay_t *r, int stream);
void shim_relay_close(shim_relay_t *r);
/* Drops the accepted TCP connection (a new TLS connection needs a new CSM). */
void shim_relay_drop_conn(shim_relay_t *r);
/* UDP: the current libcoap session's address; only it is relayed. */
void shim_relay_set_coap(shim_relay_t *r, const void *addr, socklen_t len);
/* UDP: discards every queued datagram (from a session just dropped). */
void shim_relay_discard(shim_relay_t *r);
/* The descriptor that has libcoap's next bytes (or connection) to read. */
int shim_relay_poll_fd(const shim_relay_t *r);
/* Reads what libcoap sent: > 0 bytes, 0 nothing (accepted a connection or
 * EOF), -1 error (errno set). */
ssize_t shim_relay_read(shim_relay_t *r, void *buf, size_t size);
/* Hands bytes from the server to libcoap; -1 when libcoap is not there. */
int shim_relay_write(shim_relay_t *r, const void *buf, size_t len);

#endif
