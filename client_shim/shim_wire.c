/* shim_wire.c: counts the datagrams of one request and recognises Block1
 * by parsing each one with libcoap. */
#include "client_shim/shim_wire.h"

#include <coap3/coap.h>
#include <string.h>

/* Nothing seen yet. */
void shim_wire_reset(shim_wire_t *w)
{
	memset(w, 0, sizeof(*w));
	w->last_mid = -1;
}

/* A request carrying Block1 is one block; a retransmission (same message
 * id as the block before) is not another one. */
static void note_block1(shim_wire_t *w, const coap_pdu_t *pdu)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt;
	coap_pdu_code_t code = coap_pdu_get_code(pdu);
	int mid = (int)coap_pdu_get_mid(pdu);

	if (code == COAP_EMPTY_CODE || COAP_RESPONSE_CLASS(code) != 0)
		return;
	opt = coap_check_option(pdu, COAP_OPTION_BLOCK1, &it);
	if (!opt)
		return;
	w->block_size = 1u << (COAP_OPT_BLOCK_SZX(opt) + 4);
	if (mid != w->last_mid)
		w->blocks++;
	w->last_mid = mid;
}

/* Counts the datagram and, when it parses as CoAP, its Block1 option. */
void shim_wire_note(shim_wire_t *w, const unsigned char *buf, size_t len)
{
	coap_pdu_t *pdu;

	w->datagrams++;
	if (len > w->max_bytes)
		w->max_bytes = len;
	pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_EMPTY_CODE, 0, len);
	if (!pdu)
		return;
	if (coap_pdu_parse(COAP_PROTO_UDP, buf, len, pdu))
		note_block1(w, pdu);
	coap_delete_pdu(pdu);
}

/* The reply fields of a request. */
void shim_wire_fields(const shim_wire_t *w, json_t *f)
{
	json_object_set_new(f, "datagrams", json_integer((json_int_t)w->datagrams));
	json_object_set_new(f, "max_datagram", json_integer((json_int_t)w->max_bytes));
	json_object_set_new(f, "blockwise", json_boolean(w->blocks > 0));
	json_object_set_new(f, "blocks", json_integer((json_int_t)w->blocks));
	if (w->blocks)
		json_object_set_new(f, "block_size", json_integer(w->block_size));
}
