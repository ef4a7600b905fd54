/* libcoap inside the emulator: one context with loopback endpoints only,
 * one for the UDP bridge (DTLS and plain CoAP sessions) and one for the TCP
 * bridge (TLS). No public port is libcoap's: every peer comes through a
 * session (emu_bridge.c). Its epoll fd sits in the emulator's loop. */
#include "emu_server.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "emu_bootstrap.h"
#include "emu_lwm2m.h"
#include "emu_request.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"

/* How long a retired /rd/{id} keeps answering 4.04 itself. */
#define EMU_TOMBSTONE_MS (10 * 60 * 1000)
/* ... and at most this many are kept, oldest retired first. */
#define EMU_TOMBSTONE_MAX 10000

struct emu_tombstone {
	coap_resource_t *res;
	int64_t since;
	struct emu_tombstone *next;
};

/* Reads the bound port back from libcoap's endpoint description
 * ("127.0.0.1:40000" or "[::1]:40000"), as 4.3 has no accessor for it. */
static int endpoint_port(const coap_endpoint_t *ep)
{
	const char *text = coap_endpoint_str(ep);
	const char *colon = text ? strrchr(text, ':') : NULL;
	if (!colon)
		return -1;
	int port = atoi(colon + 1);
	return port > 0 && port <= 65535 ? port : -1;
}

/* Creates an endpoint on addr:port and returns the port it got. */
static int add_endpoint(struct emu_server *srv, const char *addr, int port, coap_proto_t proto)
{
	coap_address_t a;
	struct sockaddr_storage ss;
	socklen_t len;
	coap_address_init(&a);
	if (lh_addr_parse(addr, port, &ss, &len) < 0 || len > sizeof(a.addr))
		return -1;
	memcpy(&a.addr, &ss, len);
	a.size = len;
	coap_endpoint_t *ep = coap_new_endpoint(srv->coap, &a, proto);
	return ep ? endpoint_port(ep) : -1;
}

int emu_coap_init(struct emu_server *srv)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EMU_FD_TAG(EMU_FD_COAP, 0)};
	coap_startup();
	coap_set_log_level(getenv("EMU_DEBUG") ? LOG_DEBUG : LOG_EMERG);
	srv->coap = coap_new_context(NULL);
	if (!srv->coap)
		goto err;
	coap_set_app_data(srv->coap, srv);
	coap_context_set_block_mode(srv->coap, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
	int bport = add_endpoint(srv, "127.0.0.1", 0, COAP_PROTO_UDP);
	if (bport < 0) {
		fprintf(stderr, "lwm2m-emulator: cannot open the libcoap bridge endpoint\n");
		goto err;
	}
	srv->bridge_addr.sin_family = AF_INET;
	srv->bridge_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv->bridge_addr.sin_port = htons((uint16_t)bport);
	if (srv->cfg->tls_port != EMU_PORT_OFF) {
		int tport = add_endpoint(srv, "127.0.0.1", 0, COAP_PROTO_TCP);
		if (tport < 0) {
			fprintf(stderr, "lwm2m-emulator: cannot open the libcoap TCP bridge "
					"endpoint\n");
			goto err;
		}
		srv->tcp_bridge_addr.sin_family = AF_INET;
		srv->tcp_bridge_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		srv->tcp_bridge_addr.sin_port = htons((uint16_t)tport);
	}
	if (emu_lwm2m_init(srv) < 0 || emu_bootstrap_init(srv) < 0)
		goto err;
	emu_request_init(srv);
	/* Bridge sessions live as long as their DTLS session, not libcoap's
	 * idle timeout, so server-initiated requests can always be sent. */
	coap_context_set_session_timeout(srv->coap, 24 * 3600);
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, coap_context_get_coap_fd(srv->coap), &ev) < 0)
		goto err;
	return 0;
err:
	return -1;
}

void emu_coap_fini(struct emu_server *srv)
{
	struct emu_tombstone *t = srv->tombstones;
	while (t) {
		struct emu_tombstone *next = t->next;
		free(t);
		t = next;
	}
	srv->tombstones = NULL;
	emu_request_fini(srv);
	emu_bootstrap_fini(srv);
	if (srv->coap)
		coap_free_context(srv->coap);
	srv->coap = NULL;
	coap_cleanup();
}

void emu_coap_process(struct emu_server *srv)
{
	coap_io_process(srv->coap, COAP_IO_NO_WAIT);
	emu_bootstrap_run(srv);
}

void emu_coap_bury(struct emu_server *srv, coap_resource_t *res)
{
	struct emu_tombstone *t = calloc(1, sizeof(*t));
	coap_resource_set_userdata(res, NULL);
	if (!t)
		return; /* it then simply stays, answering 4.04 */
	t->res = res;
	t->since = lh_time_mono_ms();
	/* Append: the list stays in age order, oldest first. */
	struct emu_tombstone **p = &srv->tombstones;
	while (*p)
		p = &(*p)->next;
	*p = t;
	srv->tombstone_count++;
}

void emu_lwm2m_bury(struct emu_server *srv, struct emu_reg *r)
{
	if (r->resource)
		emu_coap_bury(srv, r->resource);
	r->resource = NULL;
}

/* Deletes retired resources old enough; never from inside a handler. */
static void sweep_tombstones(struct emu_server *srv, int64_t now)
{
	while (srv->tombstones && (now - srv->tombstones->since >= EMU_TOMBSTONE_MS ||
				   srv->tombstone_count > EMU_TOMBSTONE_MAX)) {
		struct emu_tombstone *t = srv->tombstones;
		srv->tombstones = t->next;
		srv->tombstone_count--;
		coap_delete_resource(srv->coap, t->res);
		free(t);
	}
}

void emu_coap_housekeeping(struct emu_server *srv, int64_t now)
{
	struct emu_reg *r;
	while ((r = emu_registry_expired(&srv->registry, now)) != NULL) {
		lh_event_emitf("registration_expired", "{s:I, s:s, s:s, s:I}", "session",
			       (json_int_t)r->session, "location", r->location, "endpoint",
			       r->endpoint, "lifetime", (json_int_t)r->lifetime);
		emu_registry_remove(&srv->registry, r);
		emu_lwm2m_bury(srv, r);
		emu_reg_free(r);
	}
	sweep_tombstones(srv, now);
}
