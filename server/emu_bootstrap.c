/* LwM2M Bootstrap on the emulator's CoAP layer (see emu_bootstrap.h). */
#include "emu_bootstrap.h"

#include <stdlib.h>
#include <string.h>

#include "emu_device.h"
#include "emu_lwm2m.h"
#include "emu_request.h"
#include "emu_server.h"
#include "emu_reload.h"
#include "lh_addr.h"
#include "lh_event.h"

struct emu_bs_job {
	uint64_t session;
	char endpoint[256];
	struct emu_bs_job *next;
};

/* Bootstrap-Requests answered and not yet acted on, oldest first. */
struct emu_bootstrap {
	struct emu_bs_job *head, **tail;
};

int emu_bootstrap_init(struct emu_server *srv)
{
	srv->bootstrap = calloc(1, sizeof(*srv->bootstrap));
	if (!srv->bootstrap)
		return -1;
	srv->bootstrap->tail = &srv->bootstrap->head;
	return 0;
}

void emu_bootstrap_request(struct emu_session *s, const struct emu_coap_req *req,
			   struct emu_coap_msg *resp)
{
	struct emu_bootstrap *bs = s->srv->bootstrap;
	struct emu_rd_query q;
	char err[160] = "", peer[LH_ADDR_STRLEN];
	int ok = emu_lwm2m_parse_query(req->query, req->query_len, 1, 0xffffffffu, 1, &q, err,
				       sizeof(err)) == 0;
	struct emu_bs_job *job = ok ? calloc(1, sizeof(*job)) : NULL;
	resp->code = ok ? COAP_RESPONSE_CODE_CHANGED : COAP_RESPONSE_CODE_BAD_REQUEST;
	lh_event_emitf("bootstrap_request", "{s:I, s:s, s:s?, s:s?, s:s, s:s?}", "session",
		       (json_int_t)s->id, "peer",
		       lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer)), "identity",
		       emu_device_identity(s), "endpoint", q.has_ep ? q.ep : NULL, "code",
		       ok ? "2.04" : "4.00", "reason", ok ? NULL : err);
	if (!job)
		return;
	job->session = s->id;
	snprintf(job->endpoint, sizeof(job->endpoint), "%s", q.ep);
	*bs->tail = job;
	bs->tail = &job->next;
}

/* Sends one configured operation (or Bootstrap-Finish). */
static void send_op(struct emu_server *srv, struct emu_session *s, const char *ep, const json_t *op)
{
	char err[256];
	json_t *req = json_deep_copy(op);
	if (!json_object_get(req, "method"))
		json_object_set_new(req, "method", json_string("write"));
	json_t *r = emu_request_to(srv, s, ep, req, err, sizeof(err));
	if (!r)
		lh_event_emitf("bootstrap_error", "{s:s, s:I, s:O, s:s}", "endpoint", ep, "session",
			       (json_int_t)s->id, "operation", op, "message", err);
	json_decref(r);
	json_decref(req);
}

/* Queues a job's operations on its session (gone: reported). */
static void run_job(struct emu_server *srv, const struct emu_bs_job *job)
{
	const json_t *cfg = emu_gen_cfg(srv)->bootstrap, *op;
	size_t i;
	struct emu_session *s = emu_sessions_by_id(&srv->sessions, job->session);
	if (!s) {
		lh_event_emitf("bootstrap_error", "{s:s, s:I, s:s}", "endpoint", job->endpoint,
			       "session", (json_int_t)job->session, "message",
			       "the session closed before the bootstrap could start");
		return;
	}
	json_array_foreach(json_object_get(cfg, "writes"), i, op)
	    send_op(srv, s, job->endpoint, op);
	if (!cfg || !json_is_false(json_object_get(cfg, "finish"))) {
		json_t *fin = json_pack("{s:s, s:s}", "method", "bootstrap_finish", "path", "/bs");
		send_op(srv, s, job->endpoint, fin);
		json_decref(fin);
	}
}

void emu_bootstrap_run(struct emu_server *srv)
{
	struct emu_bootstrap *bs = srv->bootstrap;
	while (bs && bs->head) {
		struct emu_bs_job *job = bs->head;
		bs->head = job->next;
		if (!bs->head)
			bs->tail = &bs->head;
		run_job(srv, job);
		free(job);
	}
}

void emu_bootstrap_fini(struct emu_server *srv)
{
	struct emu_bootstrap *bs = srv->bootstrap;
	while (bs && bs->head) {
		struct emu_bs_job *job = bs->head;
		bs->head = job->next;
		free(job);
	}
	free(bs);
	srv->bootstrap = NULL;
}
