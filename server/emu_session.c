#include "emu_session.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "emu_ctxpool.h"
#include "emu_reload.h"
#include "emu_server.h"
#include "lh_addr.h"
#include "lh_event.h"

size_t emu_addr_key(const struct sockaddr *sa, uint8_t key[EMU_ADDR_KEY_MAX])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		memcpy(key, &in->sin_addr, 4);
		memcpy(key + 4, &in->sin_port, 2);
		return 6;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(key, &in6->sin6_addr, 16);
		memcpy(key + 16, &in6->sin6_port, 2);
		return 18;
	}
	return 0;
}

void emu_sessions_init(struct emu_sessions *t)
{
	memset(t, 0, sizeof(*t));
	t->next_id = 1;
}

void emu_sessions_add(struct emu_sessions *t, struct emu_session *s)
{
	s->id = t->next_id++;
	HASH_ADD(hh_id, t->by_id, id, sizeof(s->id), s);
	HASH_ADD(hh_addr, t->by_addr, addr_key, s->addr_key_len, s);
	t->count++;
}

void emu_sessions_index_cid(struct emu_sessions *t, struct emu_session *s)
{
	if (s->cid_indexed || s->cid_len == 0)
		return;
	HASH_ADD(hh_cid, t->by_cid, cid, s->cid_len, s);
	s->cid_indexed = 1;
	t->cid_count[s->cid_len]++;
	t->cid_unprefixed += EMU_CID_LEN_OF(s->cid[0]) != s->cid_len;
}

void emu_sessions_remove(struct emu_sessions *t, struct emu_session *s)
{
	HASH_DELETE(hh_id, t->by_id, s);
	HASH_DELETE(hh_addr, t->by_addr, s);
	if (s->cid_indexed) {
		HASH_DELETE(hh_cid, t->by_cid, s);
		t->cid_count[s->cid_len]--;
		t->cid_unprefixed -= EMU_CID_LEN_OF(s->cid[0]) != s->cid_len;
	}
	s->cid_indexed = 0;
	t->count--;
}

void emu_sessions_move(struct emu_sessions *t, struct emu_session *s, const struct sockaddr *sa,
		       socklen_t len)
{
	HASH_DELETE(hh_addr, t->by_addr, s);
	memcpy(&s->peer, sa, len);
	s->peer_len = len;
	s->addr_key_len = emu_addr_key(sa, s->addr_key);
	/* Another session may still hold this address (a NAT reused it): the
	 * address index then points at the newest owner only. */
	struct emu_session *other = emu_sessions_by_addr(t, sa);
	if (other)
		HASH_DELETE(hh_addr, t->by_addr, other);
	HASH_ADD(hh_addr, t->by_addr, addr_key, s->addr_key_len, s);
	if (other) {
		/* Keep the displaced session findable by CID only; give it an
		 * impossible key so removal stays safe. */
		memset(other->addr_key, 0xff, sizeof(other->addr_key));
		other->addr_key_len = EMU_ADDR_KEY_MAX;
		HASH_ADD(hh_addr, t->by_addr, addr_key, other->addr_key_len, other);
	}
}

struct emu_session *emu_sessions_by_addr(struct emu_sessions *t, const struct sockaddr *sa)
{
	uint8_t key[EMU_ADDR_KEY_MAX];
	size_t len = emu_addr_key(sa, key);
	struct emu_session *s = NULL;
	if (len)
		HASH_FIND(hh_addr, t->by_addr, key, len, s);
	return s;
}

struct emu_session *emu_sessions_by_key(struct emu_sessions *t, const uint8_t *key, size_t len)
{
	struct emu_session *s = NULL;
	HASH_FIND(hh_addr, t->by_addr, key, len, s);
	return s;
}

struct emu_session *emu_sessions_by_cid(struct emu_sessions *t, const uint8_t *cid, size_t len)
{
	struct emu_session *s = NULL;
	HASH_FIND(hh_cid, t->by_cid, cid, len, s);
	return s;
}

struct emu_session *emu_sessions_by_id(struct emu_sessions *t, uint64_t id)
{
	struct emu_session *s = NULL;
	HASH_FIND(hh_id, t->by_id, &id, sizeof(id), s);
	return s;
}

void emu_session_close(struct emu_session *s, const char *reason)
{
	struct emu_server *srv = s->srv;
	char peer[LH_ADDR_STRLEN];
	if (lh_event_wanted()) {
		struct lh_ev_field f[] = {
		    LH_EV_I("session", s->id),
		    LH_EV_S("peer",
			    lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer))),
		    LH_EV_S("reason", reason)};
		lh_event_emit_fields("session_closed", f, 3);
	}
	if (s->state == EMU_SESS_HANDSHAKE)
		emu_limit_give(srv, EMU_LIMIT_HANDSHAKES, 1);
	emu_msg_close(s);
	if (s->tp->teardown)
		s->tp->teardown(s);
	emu_sessions_remove(&srv->sessions, s);
	emu_ctxpool_put(srv, &s->ssl); /* reset and kept for the next handshake, or freed */
	struct emu_gen *gen = s->gen;
	free(s);
	emu_gen_release(srv, gen); /* after the context that used its config */
}
