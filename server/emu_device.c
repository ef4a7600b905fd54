/* Devices follow their sessions (see emu_device.h). */
#include "emu_device.h"

#include <string.h>

#include "emu_hibernate.h"
#include "emu_reload.h"
#include "emu_request.h"
#include "emu_server.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"

const char *emu_device_identity(struct emu_session *s)
{
	static char buf[LH_ADDR_STRLEN + 8];
	char addr[LH_ADDR_STRLEN];
	if (s->identity[0])
		return s->identity;
	if (s->subject[0])
		return s->subject;
	if (s->tp->secure)
		return NULL;
	snprintf(buf, sizeof(buf), "coap:%s",
		 lh_addr_format((struct sockaddr *)&s->peer, addr, sizeof(addr)));
	return buf;
}

/* Reports a move; closes the superseded session, live or hibernated, when
 * the move is certain. */
static void moved(struct emu_session *s, struct emu_reg *r, uint64_t from, const char *why)
{
	char peer[LH_ADDR_STRLEN];
	struct emu_session *old = emu_sessions_by_id(&s->srv->sessions, from);
	int slept = !old && emu_hib_find(s->srv, from) != NULL;
	int certain = strcmp(why, "identity") != 0;
	lh_event_emitf("device_moved", "{s:s, s:s, s:I, s:I, s:s, s:s?, s:s, s:b, s:b}", "endpoint",
		       r->endpoint, "location", r->location, "session", (json_int_t)s->id,
		       "from_session", (json_int_t)from, "peer",
		       lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer)), "identity",
		       r->identity, "reason", why, "old_session_open", old != NULL || slept,
		       "old_session_hibernated", slept);
	/* Only a session that still carries this device: after an identity
	 * move (a guess, when devices share a PSK) another device may have
	 * registered on it since, and its session must live on. */
	if (!certain)
		return;
	if (old && old != s && !strcmp(old->location, r->location))
		emu_session_close(old, "superseded");
	else if (slept)
		emu_hib_supersede(s->srv, from, r->location);
}

void emu_device_bind(struct emu_session *s, struct emu_reg *r, const char *why)
{
	uint64_t from = r->session;
	r->session = s->id;
	r->proto = s->tp->proto;
	snprintf(s->location, sizeof(s->location), "%s", r->location);
	if (s->has_lineage)
		emu_registry_set_lineage(&s->srv->registry, r, s->lineage);
	if (why && from != s->id)
		moved(s, r, from, why);
}

void emu_device_session_ready(struct emu_session *s)
{
	struct emu_registry *reg = &s->srv->registry;
	const char *identity = emu_device_identity(s);
	size_t n = 0;
	struct emu_reg *r =
	    s->resumed && s->has_lineage ? emu_registry_find_lineage(reg, s->lineage) : NULL;
	if (r) {
		emu_device_bind(s, r, "resumed");
		return;
	}
	r = emu_registry_find_identity(reg, identity, &n);
	if (n == 1) {
		emu_device_bind(s, r, "identity");
	} else if (n > 1) {
		lh_event_emitf("device_ambiguous", "{s:I, s:s, s:I, s:s}", "session",
			       (json_int_t)s->id, "identity", identity, "devices", (json_int_t)n,
			       "message",
			       "several registered devices share this identity: the next "
			       "Register or Update on this session decides which it carries");
	}
}

struct emu_reg *emu_device_of(const struct emu_session *s)
{
	struct emu_reg *r =
	    s->location[0] ? emu_registry_find(&s->srv->registry, s->location) : NULL;
	return r && r->session == s->id ? r : NULL;
}

void emu_device_heard(struct emu_session *s)
{
	struct emu_reg *r = emu_device_of(s);
	if (!r || !r->queue_mode)
		return;
	int was_asleep = emu_device_asleep(s->srv, r);
	r->awake_until = lh_time_mono_ms() + emu_gen_cfg(s->srv)->queue_awake_ms;
	if (was_asleep || emu_request_queued(s->srv, r->endpoint))
		emu_request_wake(s->srv, r->endpoint);
}

int emu_device_asleep(const struct emu_server *srv, const struct emu_reg *r)
{
	(void)srv;
	return r && r->queue_mode && lh_time_mono_ms() >= r->awake_until;
}

void emu_device_housekeeping(struct emu_server *srv, int64_t now)
{
	struct emu_reg *r;
	while ((r = emu_registry_expired(&srv->registry, now)) != NULL) {
		lh_event_emitf("registration_expired", "{s:I, s:s, s:s, s:I}", "session",
			       (json_int_t)r->session, "location", r->location, "endpoint",
			       r->endpoint, "lifetime", (json_int_t)r->lifetime);
		emu_registry_remove(&srv->registry, r);
		emu_reg_free(r);
	}
}
