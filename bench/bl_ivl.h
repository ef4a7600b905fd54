/* bl_ivl: the latency of a paced run interval by interval (--intervals MS),
 * beside what could explain a slow one: the server's and the generator's
 * CPU time and scheduling delay, the generator's longest loop gap, the
 * hypervisor's steal time of CPUs 0 and 1 and the UDP receive-buffer drops. One "interval ..." line
 * per interval on stdout. */
#ifndef BL_IVL_H
#define BL_IVL_H

#include "bl_stats.h"

#include <stdint.h>
#include <sys/types.h>

struct bl_ivl_clock {
	uint64_t srv_run, srv_wait, self_run, self_wait; /* ns, /proc/PID/schedstat */
	long long rcvbuf_err;
	long long steal_ms[2]; /* CPUs 0 and 1 (the generator's and the server's in make bench) */
};

struct bl_ivl {
	int64_t period_us, t0, next; /* 0 period: off */
	pid_t pid;		     /* the server; 0: none */
	size_t mark, mark_rx;	     /* first latency samples of this interval */
	uint64_t sent0;
	int64_t last_loop, max_gap; /* generator loop turns, µs */
	struct bl_ivl_clock c0;
	uint32_t *scratch; /* a copy of the interval's samples, sorted */
	size_t scratch_cap;
};

/* Starts the first interval at t0 (period_ms 0: the logger stays off);
 * -1 when out of memory. */
int bl_ivl_init(struct bl_ivl *v, unsigned period_ms, pid_t pid, int64_t t0,
		const struct bl_stats *lat, const struct bl_stats *lat_rx);

/* One turn of the generator's loop at now: the longest gap between turns is
 * the generator's own stall (descheduled, or busy elsewhere). */
void bl_ivl_loop(struct bl_ivl *v, int64_t now);

/* Prints the interval(s) ended by now: the samples added to lat (to the
 * generator's read) and lat_rx (to the kernel's arrival stamp) since the
 * last one, sent = requests sent so far. */
void bl_ivl_tick(struct bl_ivl *v, const struct bl_stats *lat, const struct bl_stats *lat_rx,
		 uint64_t sent, int64_t now);

void bl_ivl_free(struct bl_ivl *v);

#endif
