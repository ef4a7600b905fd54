/* LD_PRELOAD library for tests/interop/harness-slow-save.sh: every fsync
 * first sleeps SLOW_FSYNC_MS (a disk whose journal is busy with other
 * processes' writes), then does the real fsync. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

int fsync(int fd)
{
	static int (*real)(int);
	const char *ms = getenv("SLOW_FSYNC_MS");
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (ms) {
		long v = strtol(ms, NULL, 10);
		struct timespec ts = {v / 1000, (v % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	return real ? real(fd) : -1;
}
