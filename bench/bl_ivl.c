/* bl_ivl: per-interval latency and its suspects (see bl_ivl.h). Reading
 * /proc five times per interval costs ~50 µs, nothing at 100 ms. */
#include "bl_ivl.h"

#include "bl_proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The counters an interval is the difference of. */
static void clock_read(struct bl_ivl_clock *c, pid_t pid)
{
	memset(c, 0, sizeof(*c));
	if (pid > 0)
		bl_proc_schedstat(pid, &c->srv_run, &c->srv_wait);
	bl_proc_schedstat(0, &c->self_run, &c->self_wait);
	c->rcvbuf_err = bl_proc_udp_rcvbuf_errors();
	c->steal_ms[0] = bl_proc_steal_ms(0);
	c->steal_ms[1] = bl_proc_steal_ms(1);
}

/* A counter's growth over the interval, -1 when either end is unknown. */
static long long delta(long long a, long long b)
{
	return a >= 0 && b >= 0 ? b - a : -1;
}

/* See bl_ivl.h. */
int bl_ivl_init(struct bl_ivl *v, unsigned period_ms, pid_t pid, int64_t t0,
		const struct bl_stats *lat, const struct bl_stats *lat_rx)
{
	memset(v, 0, sizeof(*v));
	if (!period_ms)
		return 0;
	v->period_us = (int64_t)period_ms * 1000;
	v->t0 = v->last_loop = t0;
	v->next = t0 + v->period_us;
	v->pid = pid;
	v->mark = lat->n;
	v->mark_rx = lat_rx->n;
	clock_read(&v->c0, pid);
	v->scratch_cap = 1u << 16;
	v->scratch = malloc(v->scratch_cap * sizeof(*v->scratch));
	return v->scratch ? 0 : -1;
}

/* See bl_ivl.h. */
void bl_ivl_loop(struct bl_ivl *v, int64_t now)
{
	if (v->period_us && now - v->last_loop > v->max_gap)
		v->max_gap = now - v->last_loop;
	v->last_loop = now;
}

/* qsort order for latencies. */
static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* p50, p99 and max of the samples [from, lat->n), without reordering lat
 * (its percentiles over the whole run come later); the first scratch_cap
 * samples only, more than an interval holds at the rates measured here. */
static size_t window(struct bl_ivl *v, const struct bl_stats *lat, size_t from, uint32_t pct[3])
{
	size_t n = lat->n - from;
	if (n > v->scratch_cap)
		n = v->scratch_cap;
	pct[0] = pct[1] = pct[2] = 0;
	if (!n)
		return 0;
	memcpy(v->scratch, lat->us + from, n * sizeof(*v->scratch));
	qsort(v->scratch, n, sizeof(*v->scratch), cmp_u32);
	pct[0] = v->scratch[(size_t)(0.50 * (double)(n - 1) + 0.5)];
	pct[1] = v->scratch[(size_t)(0.99 * (double)(n - 1) + 0.5)];
	pct[2] = v->scratch[n - 1];
	return n;
}

/* One line: percent of the interval for the CPU and wait times. */
static void print_line(struct bl_ivl *v, const struct bl_stats *lat, const struct bl_stats *lat_rx,
		       uint64_t sent, int64_t now)
{
	struct bl_ivl_clock c;
	uint32_t pct[3], rx[3];
	double span = (double)v->period_us * 10.0; /* ns per percent */
	size_t n = window(v, lat, v->mark, pct);
	window(v, lat_rx, v->mark_rx, rx);
	clock_read(&c, v->pid);
	printf("interval t_ms=%lld sent=%llu ok=%zu p50_us=%u p99_us=%u max_us=%u p99_rx_us=%u "
	       "server_cpu_pct=%.0f server_wait_pct=%.1f load_cpu_pct=%.0f load_wait_pct=%.1f "
	       "load_max_gap_us=%lld steal_ms_cpu0=%lld steal_ms_cpu1=%lld rcvbuf_errors=%lld\n",
	       (long long)((now - v->t0) / 1000), (unsigned long long)(sent - v->sent0), n, pct[0],
	       pct[1], pct[2], rx[1], (double)(c.srv_run - v->c0.srv_run) / span,
	       (double)(c.srv_wait - v->c0.srv_wait) / span,
	       (double)(c.self_run - v->c0.self_run) / span,
	       (double)(c.self_wait - v->c0.self_wait) / span, (long long)v->max_gap,
	       delta(v->c0.steal_ms[0], c.steal_ms[0]), delta(v->c0.steal_ms[1], c.steal_ms[1]),
	       delta(v->c0.rcvbuf_err, c.rcvbuf_err));
	v->c0 = c;
}

/* See bl_ivl.h. */
void bl_ivl_tick(struct bl_ivl *v, const struct bl_stats *lat, const struct bl_stats *lat_rx,
		 uint64_t sent, int64_t now)
{
	if (!v->period_us || now < v->next)
		return;
	print_line(v, lat, lat_rx, sent, now);
	v->mark = lat->n;
	v->mark_rx = lat_rx->n;
	v->sent0 = sent;
	v->max_gap = 0;
	while (v->next <= now)
		v->next += v->period_us;
}

/* See bl_ivl.h. */
void bl_ivl_free(struct bl_ivl *v)
{
	free(v->scratch);
	v->scratch = NULL;
}
