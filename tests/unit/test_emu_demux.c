/* Unit tests for the emulator's O(1) session indexes (peer address, CID,
 * id, bridge port), address moves, and the timer heap with lazy deletion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/lh_addr.h"
#include "server/emu_dedup.h"
#include "server/emu_server.h"
#include "server/emu_vhost.h"
#include "server/emu_session.h"
#include "server/emu_timer.h"

/* A session at text address addr with an optional CID. */
static struct emu_session *mk(struct emu_sessions *t, const char *addr, const char *cid)
{
	struct emu_session *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	assert_int_equal(lh_addr_parse(addr, 0, &s->peer, &s->peer_len), 0);
	s->addr_key_len = emu_addr_key((struct sockaddr *)&s->peer, s->addr_key);
	s->cid_len = strlen(cid);
	memcpy(s->cid, cid, s->cid_len);
	emu_sessions_add(t, s);
	emu_sessions_index_cid(t, s);
	return s;
}

/* Looks a session up by address text. */
static struct emu_session *at(struct emu_sessions *t, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	assert_int_equal(lh_addr_parse(addr, 0, &ss, &len), 0);
	return emu_sessions_by_addr(t, (struct sockaddr *)&ss);
}

static void lookups_by_every_key(void **state)
{
	(void)state;
	struct emu_sessions t;
	emu_sessions_init(&t);
	struct emu_session *a = mk(&t, "127.0.0.1:1000", "AAAA");
	struct emu_session *b = mk(&t, "127.0.0.1:1001", "BBBB");
	struct emu_session *c = mk(&t, "[::1]:1000", "");
	assert_ptr_equal(at(&t, "127.0.0.1:1000"), a);
	assert_ptr_equal(at(&t, "127.0.0.1:1001"), b);
	assert_ptr_equal(at(&t, "[::1]:1000"), c);
	assert_null(at(&t, "127.0.0.2:1000"));
	assert_ptr_equal(emu_sessions_by_cid(&t, (const uint8_t *)"BBBB", 4), b);
	assert_null(emu_sessions_by_cid(&t, (const uint8_t *)"CCCC", 4));
	assert_ptr_equal(emu_sessions_by_id(&t, b->id), b);
	assert_int_not_equal(a->id, b->id);
	emu_sessions_remove(&t, b);
	assert_null(at(&t, "127.0.0.1:1001"));
	assert_null(emu_sessions_by_cid(&t, (const uint8_t *)"BBBB", 4));
	assert_int_equal(t.count, 2);
	free(b);
	emu_sessions_remove(&t, a);
	emu_sessions_remove(&t, c);
	free(a);
	free(c);
}

static void move_rekeys_and_displaces(void **state)
{
	(void)state;
	struct emu_sessions t;
	struct sockaddr_storage ss;
	socklen_t len;
	emu_sessions_init(&t);
	struct emu_session *a = mk(&t, "127.0.0.1:1000", "AAAA");
	struct emu_session *b = mk(&t, "127.0.0.1:2000", "BBBB");
	/* a moves to a fresh address. */
	assert_int_equal(lh_addr_parse("127.0.0.5:3000", 0, &ss, &len), 0);
	emu_sessions_move(&t, a, (struct sockaddr *)&ss, len);
	assert_null(at(&t, "127.0.0.1:1000"));
	assert_ptr_equal(at(&t, "127.0.0.5:3000"), a);
	/* a moves onto b's old address (NAT reuse): a owns it, b stays by CID. */
	assert_int_equal(lh_addr_parse("127.0.0.1:2000", 0, &ss, &len), 0);
	emu_sessions_move(&t, a, (struct sockaddr *)&ss, len);
	assert_ptr_equal(at(&t, "127.0.0.1:2000"), a);
	assert_ptr_equal(emu_sessions_by_cid(&t, (const uint8_t *)"BBBB", 4), b);
	emu_sessions_remove(&t, a);
	emu_sessions_remove(&t, b);
	assert_int_equal(t.count, 0);
	free(a);
	free(b);
}

static void timer_heap_orders_and_skips(void **state)
{
	(void)state;
	struct emu_timers t;
	struct emu_timer_entry e;
	emu_timers_init(&t);
	for (int i = 0; i < 200; i++)
		assert_int_equal(emu_timers_push(&t, (i * 37) % 200, (uint64_t)i, 0), 0);
	assert_int_equal(emu_timers_next_in(&t, 0), 0);
	assert_int_equal(emu_timers_pop_due(&t, -1, &e), 0);
	int64_t last = -1;
	int n = 0;
	while (emu_timers_pop_due(&t, 1000, &e)) {
		assert_true(e.due >= last);
		last = e.due;
		n++;
	}
	assert_int_equal(n, 200);
	assert_int_equal(emu_timers_next_in(&t, 0), -1);
	emu_timers_push(&t, 500, 1, 7);
	assert_int_equal(emu_timers_next_in(&t, 100), 400);
	assert_int_equal(emu_timers_pop_due(&t, 499, &e), 0);
	assert_int_equal(emu_timers_pop_due(&t, 500, &e), 1);
	assert_int_equal(e.gen, 7);
	emu_timers_fini(&t);
}

/* Entries with an odd session id are stale, for the compaction test. */
static int even_live(void *ctx, const struct emu_timer_entry *e)
{
	(*(int *)ctx)++;
	return e->session % 2 == 0;
}

/* Compaction waits for its threshold, drops exactly the stale entries and
 * leaves a heap that still pops in order; the threshold then follows what
 * was kept. Fails when the heap order is not rebuilt (the pops would come
 * out of order) or when a live entry is lost. */
static void timer_heap_compacts_stale(void **state)
{
	(void)state;
	struct emu_timers t;
	struct emu_timer_entry e;
	int calls = 0;
	emu_timers_init(&t);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(emu_timers_push(&t, (i * 7919) % 5000, (uint64_t)i, 0), 0);
	assert_int_equal(emu_timers_compact(&t, even_live, &calls), 0);
	assert_int_equal(calls, 0); /* at the minimum: not even looked at */
	for (int i = 1024; i < 6000; i++)
		assert_int_equal(emu_timers_push(&t, (i * 7919) % 5000, (uint64_t)i, 0), 0);
	assert_int_equal(emu_timers_compact(&t, even_live, &calls), 3000);
	assert_int_equal(calls, 6000);
	assert_int_equal(t.count, 3000);
	assert_int_equal(emu_timers_compact(&t, even_live, &calls), 0); /* now at 6000 */
	/* A burst of stale entries: the memory is given back, down to the
	 * room the next cycle needs (twice the next threshold). */
	for (int i = 0; i < 60000; i++)
		assert_int_equal(emu_timers_push(&t, 6000, (uint64_t)(2 * i + 1), 0), 0);
	assert_true(t.cap >= 63000);
	assert_int_equal(emu_timers_compact(&t, even_live, &calls), 60000);
	assert_int_equal(t.cap, 12000);
	/* Beyond the maximum (65536) one pass would stall the loop: left alone. */
	for (int i = 0; i < 70000; i++)
		assert_int_equal(emu_timers_push(&t, 6000, (uint64_t)(2 * i + 1), 0), 0);
	calls = 0;
	assert_int_equal(emu_timers_compact(&t, even_live, &calls), 0);
	assert_int_equal(calls, 0);
	assert_int_equal(t.count, 73000);
	int64_t last = -1;
	int n = 0;
	while (emu_timers_pop_due(&t, 5000, &e)) {
		assert_true(e.due >= last);
		assert_int_equal(e.session % 2, 0); /* the stale ones are due at 6000 */
		last = e.due;
		n++;
	}
	assert_int_equal(n, 3000);
	emu_timers_fini(&t);
}

/* RFC 7252 §4.5: a retransmitted CON is answered with the same ACK and not
 * passed on again; other messages and expired MIDs pass. */
static void coap_dedup(void **state)
{
	(void)state;
	struct emu_dedup d = {0};
	const uint8_t post[] = {0x41, 0x02, 0x12, 0x34, 0xaa};	/* CON POST mid 0x1234 */
	const uint8_t ack[] = {0x61, 0x41, 0x12, 0x34, 0xaa};	/* ACK 2.01 mid 0x1234 */
	const uint8_t non[] = {0x51, 0x02, 0x12, 0x34, 0xaa};	/* NON POST */
	const uint8_t other[] = {0x41, 0x02, 0x12, 0x35, 0xaa}; /* CON, another mid */
	const uint8_t *out = NULL;
	size_t out_len = 0;
	assert_int_equal(emu_dedup_request(&d, post, 5, 1000, &out, &out_len), EMU_DEDUP_NEW);
	assert_int_equal(emu_dedup_request(&d, post, 5, 1500, &out, &out_len), EMU_DEDUP_DROP);
	emu_dedup_response(&d, ack, 5);
	assert_int_equal(emu_dedup_request(&d, post, 5, 2000, &out, &out_len), EMU_DEDUP_REPLAY);
	assert_int_equal(out_len, 5);
	assert_memory_equal(out, ack, 5);
	assert_int_equal(emu_dedup_request(&d, non, 5, 2000, &out, &out_len), EMU_DEDUP_NEW);
	assert_int_equal(emu_dedup_request(&d, other, 5, 2000, &out, &out_len), EMU_DEDUP_NEW);
	/* After EXCHANGE_LIFETIME the MID may be reused for a new request. */
	assert_int_equal(
	    emu_dedup_request(&d, post, 5, 1000 + EMU_EXCHANGE_LIFETIME_MS, &out, &out_len),
	    EMU_DEDUP_NEW);
	assert_int_equal(emu_dedup_request(&d, post, 3, 2000, &out, &out_len), EMU_DEDUP_NEW);
	emu_dedup_free(&d);
}

/* Every CID of 2+ bytes names its length by its first byte, whatever the
 * random byte was, and stays a byte. */
static void cid_first_byte_names_length(void **state)
{
	(void)state;
	for (size_t len = 2; len <= EMU_CID_MAX; len++)
		for (int r = 0; r < 256; r++) {
			uint8_t b = emu_cid_first_byte(len, (uint8_t)r);
			assert_int_equal(EMU_CID_LEN_OF(b), len);
		}
	/* ... and keeps some randomness: 8 different first bytes for 4-byte CIDs. */
	int seen[256] = {0}, distinct = 0;
	for (int r = 0; r < 256; r++)
		distinct += !seen[emu_cid_first_byte(4, (uint8_t)r)]++;
	assert_int_equal(distinct, 8);
}

/* A reload's CID lengths: the new ones plus those live sessions hold; with
 * several in use, refused only while a live CID does not name its length. */
static void cid_reload_plan(void **state)
{
	(void)state;
	struct emu_server srv;
	char err[512] = "";
	uint64_t out = 0;
	memset(&srv, 0, sizeof(srv));
	emu_sessions_init(&srv.sessions);
	uint8_t c8[8] = {emu_cid_first_byte(8, 0x5a), 1, 2, 3, 4, 5, 6, 7};
	struct emu_session *s = mk(&srv.sessions, "127.0.0.1:1000", "");
	memcpy(s->cid, c8, sizeof(c8));
	s->cid_len = sizeof(c8);
	emu_sessions_index_cid(&srv.sessions, s);
	/* CID off now: the live 8-byte CID must still be found. */
	assert_int_equal(emu_vhost_cid_plan(&srv, 0, &out, err, sizeof(err)), 0);
	assert_true(out == 1ULL << 8);
	/* 4 bytes now: both lengths, and the demux reads first bytes. */
	assert_int_equal(emu_vhost_cid_plan(&srv, 1ULL << 4, &out, err, sizeof(err)), 0);
	assert_true(out == ((1ULL << 4) | (1ULL << 8)));
	emu_vhost_cid_set(&srv, out);
	assert_true(srv.cid_mixed && srv.cid_any);
	assert_int_equal(emu_vhost_cid_len(&srv, c8, sizeof(c8)), 8);
	assert_true(
	    emu_sessions_by_cid(&srv.sessions, c8, (size_t)emu_vhost_cid_len(&srv, c8, 8)) == s);
	/* A live CID that does not name its length (restored from an older
	 * run) blocks mixing lengths... */
	struct emu_session *old = mk(&srv.sessions, "127.0.0.1:1001", "");
	memcpy(old->cid, "\x07\x01\x02\x03", 4); /* 7 % 33 != 4 */
	old->cid_len = 4;
	emu_sessions_index_cid(&srv.sessions, old);
	assert_int_equal(emu_vhost_cid_plan(&srv, 1ULL << 4, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "close them"));
	/* ... until it closes. */
	emu_sessions_remove(&srv.sessions, old);
	assert_int_equal(srv.sessions.cid_unprefixed, 0);
	assert_int_equal(emu_vhost_cid_plan(&srv, 1ULL << 4, &out, err, sizeof(err)), 0);
	/* 1-byte CIDs never mix with other lengths, live ones included. */
	assert_int_equal(emu_vhost_cid_plan(&srv, 1ULL << 1, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "length of 1 cannot be mixed"));
	emu_sessions_remove(&srv.sessions, s);
	assert_int_equal(emu_vhost_cid_plan(&srv, 1ULL << 4, &out, err, sizeof(err)), 0);
	assert_true(out == 1ULL << 4);
	assert_int_equal(emu_vhost_cid_plan(&srv, 1ULL << 1, &out, err, sizeof(err)), 0);
	free(old);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lookups_by_every_key),
	    cmocka_unit_test(move_rekeys_and_displaces),
	    cmocka_unit_test(timer_heap_orders_and_skips),
	    cmocka_unit_test(timer_heap_compacts_stale),
	    cmocka_unit_test(coap_dedup),
	    cmocka_unit_test(cid_first_byte_names_length),
	    cmocka_unit_test(cid_reload_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
