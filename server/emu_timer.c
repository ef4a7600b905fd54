#include "emu_timer.h"

#include <stdlib.h>
#include <string.h>

void emu_timers_init(struct emu_timers *t)
{
	memset(t, 0, sizeof(*t));
}

void emu_timers_fini(struct emu_timers *t)
{
	free(t->heap);
	memset(t, 0, sizeof(*t));
}

/* Swaps two heap slots. */
static void swap(struct emu_timer_entry *a, struct emu_timer_entry *b)
{
	struct emu_timer_entry tmp = *a;
	*a = *b;
	*b = tmp;
}

int emu_timers_push(struct emu_timers *t, int64_t due, uint64_t session, uint32_t gen)
{
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct emu_timer_entry *h = realloc(t->heap, cap * sizeof(*h));
		if (!h)
			return -1;
		t->heap = h;
		t->cap = cap;
	}
	size_t i = t->count++;
	t->heap[i] = (struct emu_timer_entry){due, session, gen};
	while (i > 0 && t->heap[(i - 1) / 2].due > t->heap[i].due) {
		swap(&t->heap[(i - 1) / 2], &t->heap[i]);
		i = (i - 1) / 2;
	}
	return 0;
}

/* Restores the heap order below slot i (after a pop, or a heapify). */
static void sift_down(struct emu_timers *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->count && t->heap[l].due < t->heap[m].due)
			m = l;
		if (r < t->count && t->heap[r].due < t->heap[m].due)
			m = r;
		if (m == i)
			return;
		swap(&t->heap[i], &t->heap[m]);
		i = m;
	}
}

int emu_timers_pop_due(struct emu_timers *t, int64_t now, struct emu_timer_entry *out)
{
	if (t->count == 0 || t->heap[0].due > now)
		return 0;
	*out = t->heap[0];
	t->heap[0] = t->heap[--t->count];
	sift_down(t, 0);
	return 1;
}

/* Below this many entries the heap is left alone (compaction would cost
 * more than the stale entries). */
#define EMU_TIMERS_COMPACT_MIN 1024
/* Above this many, too: one pass costs ~25-100 ns an entry (the liveness
 * test is a hash lookup), and the loop must not stall for more than a few
 * ms; such a heap holds mostly live timers (tens of thousands of idle or
 * hibernated sessions) and is left to lazy deletion as before. */
#define EMU_TIMERS_COMPACT_MAX 65536

/* Gives memory back once the heap holds far less than it did, keeping
 * room for what it holds at the next compaction (so that it does not
 * shrink and grow again every cycle). */
static void shrink(struct emu_timers *t)
{
	size_t cap = 2 * t->compact_at;
	if (t->cap <= 4 * cap)
		return;
	struct emu_timer_entry *h = realloc(t->heap, cap * sizeof(*h));
	if (h) {
		t->heap = h;
		t->cap = cap;
	}
}

size_t emu_timers_compact(struct emu_timers *t, emu_timer_live_fn live, void *ctx)
{
	size_t kept = 0, before = t->count;
	if (t->count <= (t->compact_at ? t->compact_at : EMU_TIMERS_COMPACT_MIN) ||
	    t->count > EMU_TIMERS_COMPACT_MAX)
		return 0;
	for (size_t i = 0; i < t->count; i++)
		if (live(ctx, &t->heap[i]))
			t->heap[kept++] = t->heap[i];
	t->count = kept;
	for (size_t i = kept / 2; i-- > 0;) /* heapify, O(n) */
		sift_down(t, i);
	t->compact_at = 2 * kept > EMU_TIMERS_COMPACT_MIN ? 2 * kept : EMU_TIMERS_COMPACT_MIN;
	shrink(t);
	return before - kept;
}

int64_t emu_timers_next_in(const struct emu_timers *t, int64_t now)
{
	if (t->count == 0)
		return -1;
	return t->heap[0].due > now ? t->heap[0].due - now : 0;
}
