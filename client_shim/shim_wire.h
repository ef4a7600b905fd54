/* shim_wire.h: what the client handed to the layer while one request ran,
 * read back from the CoAP datagrams themselves (not from what libcoap was
 * asked to do): how many, the largest, and the Block1 blocks (RFC 7959)
 * among them, so a scenario sees whether a large body went block-wise and
 * that no datagram exceeded INNER_MTU. */
#ifndef SHIM_WIRE_H
#define SHIM_WIRE_H
#include <jansson.h>
#include <stddef.h>

typedef struct {
	unsigned long datagrams; /* handed to layer->send (accepted or not) */
	size_t max_bytes;	 /* the largest of them */
	unsigned long blocks;	 /* request messages with a Block1 option */
	unsigned block_size;	 /* bytes per block of the last one */
	int last_mid;		 /* message id of the last Block1 message, -1 none */
} shim_wire_t;

/* Starts counting afresh (before a request). */
void shim_wire_reset(shim_wire_t *w);
/* Notes one CoAP-over-UDP datagram about to go to the layer. */
void shim_wire_note(shim_wire_t *w, const unsigned char *buf, size_t len);
/* Adds datagrams, max_datagram, blockwise, blocks and block_size to f. */
void shim_wire_fields(const shim_wire_t *w, json_t *f);

#endif
