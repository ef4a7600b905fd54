/* libFuzzer target: lwm2m-load's CoAP parser (bench/bl_coap.c), which reads
 * whatever the server under load sends back, and what a device builds from
 * it: the Accept and path go through fl_fmt (bench/fl_fmt.c) and the answer
 * through bl_coap_reply, which must parse back to the same header. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bench/bl_coap.h"
#include "bench/fl_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parsed message's strings end inside their buffers. */
static void check_msg(const struct bl_coap_msg *m)
{
	if (m->token_len > sizeof(m->token) || strnlen(m->uri, sizeof(m->uri)) == sizeof(m->uri) ||
	    strnlen(m->location, sizeof(m->location)) == sizeof(m->location))
		__builtin_trap();
}

/* A device's answer to m, as fl_dev builds it, read back. */
static void answer(const struct bl_coap_msg *m)
{
	uint8_t payload[160], pdu[256];
	struct bl_coap_msg back;
	struct bl_coap_reply r = {.type = BL_COAP_ACK,
				  .code = 0x45,
				  .mid = m->mid,
				  .token = m->token,
				  .token_len = m->token_len,
				  .observe = m->observe,
				  .content_format = -1};
	int cf = fl_fmt_choose(m->accept, m->uri);
	if (cf >= 0) {
		r.payload = payload;
		r.payload_len = fl_fmt_encode(cf, m->uri, "fleet-4294967295-4294967295", payload,
					      sizeof(payload));
		if (r.payload_len == 0)
			__builtin_trap(); /* a format chosen must be writable */
		r.content_format = cf;
	}
	size_t n = bl_coap_reply(pdu, sizeof(pdu), &r);
	if (n == 0 || bl_coap_parse(pdu, n, &back) < 0 || back.mid != m->mid ||
	    back.token_len != m->token_len || memcmp(back.token, m->token, m->token_len) ||
	    back.code != 0x45 || (m->observe >= 0 && back.observe != (m->observe & 0xffffff)))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bl_coap_msg m;
	if (bl_coap_parse(data, size, &m) < 0)
		return 0;
	check_msg(&m);
	answer(&m);
	return 0;
}
