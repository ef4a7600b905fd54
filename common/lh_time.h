#ifndef LH_TIME_H
#define LH_TIME_H
#include <stdint.h>

/* The environment variable the harness sets for a scenario that runs with
 * a time warp (docs/time-warp.md): every process of the scenario runs under
 * libfaketime sped up by that factor, and reads it here to keep the waits
 * bound to real work (a process starting, a pipe answering) the same in
 * wall time. */
#define LH_TIME_WARP_ENV "LWM2M_TIME_WARP"
#define LH_TIME_WARP_MAX 10000

/* Milliseconds on the monotonic clock: for deadlines and timeouts. Under a
 * warp this is scenario time (libfaketime), like every other clock. */
int64_t lh_time_mono_ms(void);
/* Seconds since the epoch with microsecond resolution: the `ts` of events,
 * comparable across processes so timelines can be merged. */
double lh_time_wall(void);
/* Milliseconds on the kernel's monotonic clock, never warped: for durations
 * a person reads (how long a run took) and for checking the warp itself. */
int64_t lh_time_real_mono_ms(void);
/* The warp factor from LH_TIME_WARP_ENV: 1 when unset; -1 when it is set to
 * anything but a whole number in 1..LH_TIME_WARP_MAX. */
int lh_time_warp(void);
/* A wait bound by real work (ms of wall time) in the clock the process
 * runs on: ms times the warp, so it lasts as long in wall time warped or
 * not. */
int64_t lh_time_real_ms(int64_t ms);

#endif
