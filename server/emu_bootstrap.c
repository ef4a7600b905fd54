#include "emu_bootstrap.h"

#include <coap3/coap.h>
#include <stdlib.h>
#include <string.h>

#include "emu_lwm2m.h"
#include "emu_request.h"
#include "emu_server.h"
#include "lh_addr.h"
#include "lh_event.h"

struct emu_bs_job {
	coap_session_t *cs; /* referenced */
	char endpoint[256];
	struct emu_bs_job *next;
};

static struct emu_bs_job *g_jobs, **g_tail = &g_jobs;

/* POST /bs?ep=...: Bootstrap-Request. */
static void hnd_bs(coap_resource_t *res, coap_session_t *cs, const coap_pdu_t *req,
		   const coap_string_t *query, coap_pdu_t *resp)
{
	struct emu_server *srv = coap_get_app_data(coap_session_get_context(cs));
	struct emu_rd_query q;
	char err[160] = "", peer[LH_ADDR_STRLEN] = "?";
	const coap_address_t *remote = coap_session_get_addr_remote(cs);
	(void)res;
	(void)req;
	if (remote)
		lh_addr_format(&remote->addr.sa, peer, sizeof(peer));
	int ok =
	    emu_lwm2m_parse_query(query ? (const char *)query->s : "", query ? query->length : 0, 1,
				  0xffffffffu, 1, &q, err, sizeof(err)) == 0;
	struct emu_bs_job *job = ok ? calloc(1, sizeof(*job)) : NULL;
	coap_pdu_set_code(resp, ok ? COAP_RESPONSE_CODE_CHANGED : COAP_RESPONSE_CODE_BAD_REQUEST);
	lh_event_emitf("bootstrap_request", "{s:s, s:s?, s:s, s:s?}", "peer", peer, "endpoint",
		       q.has_ep ? q.ep : NULL, "code", ok ? "2.04" : "4.00", "reason",
		       ok ? NULL : err);
	if (!job)
		return;
	job->cs = coap_session_reference(cs);
	snprintf(job->endpoint, sizeof(job->endpoint), "%s", q.ep);
	*g_tail = job;
	g_tail = &job->next;
	(void)srv;
}

int emu_bootstrap_init(struct emu_server *srv)
{
	coap_resource_t *bs = coap_resource_init(coap_make_str_const("bs"), 0);
	if (!bs)
		return -1;
	coap_register_handler(bs, COAP_REQUEST_POST, hnd_bs);
	coap_add_resource(srv->coap, bs);
	return 0;
}

/* Sends one configured operation (or Bootstrap-Finish). */
static void send_op(struct emu_server *srv, struct emu_bs_job *job, const json_t *op)
{
	char err[256];
	json_t *req = json_deep_copy(op);
	if (!json_object_get(req, "method"))
		json_object_set_new(req, "method", json_string("write"));
	json_t *r = emu_request_to(srv, job->cs, job->endpoint, req, err, sizeof(err));
	if (!r)
		lh_event_emitf("bootstrap_error", "{s:s, s:O, s:s}", "endpoint", job->endpoint,
			       "operation", op, "message", err);
	json_decref(r);
	json_decref(req);
}

void emu_bootstrap_run(struct emu_server *srv)
{
	const json_t *cfg = srv->cfg->bootstrap, *op;
	size_t i;
	while (g_jobs) {
		struct emu_bs_job *job = g_jobs;
		g_jobs = job->next;
		if (!g_jobs)
			g_tail = &g_jobs;
		json_array_foreach(json_object_get(cfg, "writes"), i, op) send_op(srv, job, op);
		if (!cfg || !json_is_false(json_object_get(cfg, "finish"))) {
			json_t *fin =
			    json_pack("{s:s, s:s}", "method", "bootstrap_finish", "path", "/bs");
			send_op(srv, job, fin);
			json_decref(fin);
		}
		coap_session_release(job->cs);
		free(job);
	}
}

void emu_bootstrap_fini(struct emu_server *srv)
{
	(void)srv;
	while (g_jobs) {
		struct emu_bs_job *job = g_jobs;
		g_jobs = job->next;
		coap_session_release(job->cs);
		free(job);
	}
	g_tail = &g_jobs;
}
