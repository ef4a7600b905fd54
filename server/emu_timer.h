#ifndef EMU_TIMER_H
#define EMU_TIMER_H
#include <stddef.h>
#include <stdint.h>

/* A binary min-heap of deadlines. Entries name a session by id and carry the
 * generation of the timer they were set for, so cancelling is free: a stale
 * entry is recognised and skipped when it pops (lazy deletion). */

/* Entries whose session field has this bit set name a server request
 * (emu_request.c) by its id instead of a session. */
#define EMU_TIMER_REQUEST (1ULL << 63)

struct emu_timer_entry {
	int64_t due; /* monotonic ms */
	uint64_t session;
	uint32_t gen;
};

struct emu_timers {
	struct emu_timer_entry *heap;
	size_t count, cap;
	size_t compact_at; /* emu_timers_compact's threshold; 0: the minimum */
};

/* Whether an entry still belongs to a live timer (not a cancelled or
 * re-armed one, nor one of a closed session). */
typedef int (*emu_timer_live_fn)(void *ctx, const struct emu_timer_entry *e);

void emu_timers_init(struct emu_timers *t);
void emu_timers_fini(struct emu_timers *t);
/* Adds an entry; returns 0 or -1 when out of memory. */
int emu_timers_push(struct emu_timers *t, int64_t due, uint64_t session, uint32_t gen);
/* Pops the earliest entry due at or before now into *out; returns 1 if one
 * was popped, 0 if none is due. */
int emu_timers_pop_due(struct emu_timers *t, int64_t now, struct emu_timer_entry *out);
/* Drops the entries live says are stale, once the heap holds more than
 * twice what the last compaction kept (and at least a minimum, at most a
 * maximum that bounds the pause): stale
 * entries (a handshake's retransmission timer, a closed session's idle
 * timer) would otherwise stay until due, minutes, and every pop would
 * walk a heap of them. Returns how many were dropped. */
size_t emu_timers_compact(struct emu_timers *t, emu_timer_live_fn live, void *ctx);
/* Milliseconds until the earliest entry (0 if overdue), or -1 when empty. */
int64_t emu_timers_next_in(const struct emu_timers *t, int64_t now);

#endif
