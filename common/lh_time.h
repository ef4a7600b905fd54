#ifndef LH_TIME_H
#define LH_TIME_H
#include <stdint.h>

/* Milliseconds on the monotonic clock: for deadlines and timeouts. */
int64_t lh_time_mono_ms(void);
/* Seconds since the epoch with microsecond resolution: the `ts` of events,
 * comparable across processes so timelines can be merged. */
double lh_time_wall(void);

#endif
