/* bl_stats: latency samples and their percentiles. */
#ifndef BL_STATS_H
#define BL_STATS_H

#include <stddef.h>
#include <stdint.h>

struct bl_stats {
	uint32_t *us; /* one latency per completed request, microseconds */
	size_t n, cap, dropped;
};

/* Room for up to cap samples; -1 when out of memory. */
int bl_stats_init(struct bl_stats *s, size_t cap);
void bl_stats_free(struct bl_stats *s);
void bl_stats_add(struct bl_stats *s, uint64_t us);
/* The p-th percentile (0..100) in microseconds; sorts the samples. 0 when empty. */
uint32_t bl_stats_pct(struct bl_stats *s, double p);

#endif
