#include "lh_time.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Every clock read goes through libc, so libfaketime (a warped scenario)
 * sees and scales it. */
int64_t lh_time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wall time for event stamps, warped with the rest of the scenario. */
double lh_time_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) / 1e6;
}

/* The raw system call bypasses libfaketime's libc wrappers (and the vDSO):
 * the one clock a warp cannot touch. */
int64_t lh_time_real_mono_ms(void)
{
	struct timespec ts;
	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0)
		return lh_time_mono_ms();
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parsed on every call (cheap, rare): a process sets it once before it
 * starts the programs that read it. */
int lh_time_warp(void)
{
	const char *s = getenv(LH_TIME_WARP_ENV);
	char *end;
	if (!s || !*s)
		return 1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > LH_TIME_WARP_MAX)
		return -1;
	return (int)v;
}

/* An invalid warp counts as none: the program that set it already said
 * what was wrong. */
int64_t lh_time_real_ms(int64_t ms)
{
	int w = lh_time_warp();
	return w > 1 ? ms * w : ms;
}
