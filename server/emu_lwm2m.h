#ifndef EMU_LWM2M_H
#define EMU_LWM2M_H
#include <stddef.h>
#include <stdint.h>

#include "emu_msg.h"

struct emu_session;

/* The LwM2M registration interface: POST /rd (Register), POST /rd/{id}
 * (Update), DELETE /rd/{id} (De-register); POST /bs goes to emu_bootstrap.c. */

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

/* Handles one request from a client (Register, Update, De-register,
 * Bootstrap-Request, Send, Bootstrap-Pack; anything else 4.04/4.05 with an
 * event): sets resp's code and adds its options (numbers below Block1's)
 * and, last, a payload; an option added after the payload is an error. */
void emu_lwm2m_request(struct emu_session *s, const struct emu_coap_req *req,
		       struct emu_coap_msg *resp);

#endif
