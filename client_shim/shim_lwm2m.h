/* shim_lwm2m.h: the small LwM2M client: Register, Update, De-register and
 * the Device object (shim_device.c). */
#ifndef SHIM_LWM2M_H
#define SHIM_LWM2M_H
#include <jansson.h>

#include "client_shim/shim_client.h"

/* Registers the libcoap handlers and the Device object. */
int shim_lwm2m_init(shim_client_t *c);
void shim_lwm2m_free(shim_client_t *c);
/* Each sends one request and waits up to the config's request_timeout_ms.
 * Returns 0 when a 2.xx came back; otherwise an errno value in err (the
 * link's, ETIMEDOUT, or EBADMSG with err->message "COAP" for a non-2.xx).
 * fields receives code/location for the reply, and what went to the layer
 * (shim_wire_fields: datagrams, max_datagram, blockwise, blocks,
 * block_size); register and a with_links update add payload_bytes. A body
 * larger than the libcoap session MTU (INNER_MTU) is sent block-wise. */
int shim_lwm2m_register(shim_client_t *c, json_t *fields, sl_error_t *err);
/* with_links: the Update carries the object links (the objects changed). */
int shim_lwm2m_update(shim_client_t *c, int with_links, json_t *fields, sl_error_t *err);
int shim_lwm2m_deregister(shim_client_t *c, json_t *fields, sl_error_t *err);
/* The most Uri-Query options a raw request carries. */
#define SHIM_SEND_QUERY_MAX 8
/* Sends a raw request (method GET/POST/PUT/DELETE, path, Uri-Query options
 * as a NULL-terminated list or NULL, optional payload). */
int shim_lwm2m_raw(shim_client_t *c, const char *method, const char *path,
		   const char *const *queries, const char *payload, json_t *fields,
		   sl_error_t *err);

/* Send: POST /dp with /3/0 in SenML JSON (110); needs a registration
 * only on the server's side. */
int shim_lwm2m_send_data(shim_client_t *c, json_t *fields, sl_error_t *err);

/* "2.01" for 201. */
void shim_lwm2m_code_text(int code, char *buf, size_t size);

#endif
