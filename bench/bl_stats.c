/* bl_stats: exact percentiles from every sample (bounded by cap) rather than
 * a histogram, since a run holds at most a few million samples. */
#include "bl_stats.h"

#include <stdlib.h>

/* Preallocated, so that recording a sample never allocates mid-run. */
int bl_stats_init(struct bl_stats *s, size_t cap)
{
	s->n = s->dropped = 0;
	s->cap = cap;
	s->us = calloc(cap ? cap : 1, sizeof(*s->us));
	return s->us ? 0 : -1;
}

/* See bl_stats.h. */
void bl_stats_free(struct bl_stats *s)
{
	free(s->us);
	s->us = NULL;
	s->n = s->cap = 0;
}

/* Past cap, samples are counted as dropped instead of growing memory. */
void bl_stats_add(struct bl_stats *s, uint64_t us)
{
	if (s->n == s->cap) {
		s->dropped++;
		return;
	}
	s->us[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* qsort order for latencies. */
static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile over all samples (sorted in place). */
uint32_t bl_stats_pct(struct bl_stats *s, double p)
{
	size_t i;
	if (!s->n)
		return 0;
	qsort(s->us, s->n, sizeof(*s->us), cmp_u32);
	i = (size_t)(p / 100.0 * (double)(s->n - 1) + 0.5);
	return s->us[i < s->n ? i : s->n - 1];
}
