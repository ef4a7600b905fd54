#ifndef EMU_LWM2M_H
#define EMU_LWM2M_H
#include <coap3/coap.h>
#include <stdint.h>

#include "emu_registry.h"

struct emu_server;

/* The LwM2M registration interface on libcoap: POST /rd (Register), POST
 * /rd/{id} (Update), DELETE /rd/{id} (De-register). */

/* Registers /rd and the handler for unknown /rd/{id}. Returns 0 or -1. */
int emu_lwm2m_init(struct emu_server *srv);

/* Register query (RFC-style "k=v&k=v"): what a Register/Update carried. */
struct emu_rd_query {
	char ep[256];
	long long lt; /* -1 when absent */
	char lwm2m[16];
	char b[16];
	int has_ep, has_lwm2m, has_b, queue_mode;
};

/* Parses the query of a Register (need_ep) or Update. Returns 0, or -1 with
 * err saying which parameter is wrong. */
int emu_lwm2m_parse_query(const char *query, size_t len, uint32_t min_lt, uint32_t max_lt,
			  int need_ep, struct emu_rd_query *q, char *err, size_t err_size);

/* Looks at a request before libcoap does: libcoap 4.3 answers DELETE of an
 * unknown path with 2.02 itself, so an unknown /rd/{id} gets a retired
 * resource first and the De-register handler answers 4.04. */
void emu_lwm2m_prepare(struct emu_server *srv, const uint8_t *buf, size_t len);

/* Gives a (restored) registration its /rd/{id} resource. Returns 0 or -1. */
int emu_lwm2m_attach(struct emu_server *srv, struct emu_reg *r);

/* Retires the resource of a registration that is gone: it keeps answering
 * 4.04 until housekeeping deletes it. */
void emu_lwm2m_bury(struct emu_server *srv, struct emu_reg *r);

#endif
