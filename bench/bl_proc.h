/* bl_proc: what the benchmark reads about the server process from /proc:
 * its CPU time, resident memory and open file descriptors. */
#ifndef BL_PROC_H
#define BL_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* utime + stime of PID in microseconds; -1 when unreadable. */
int64_t bl_proc_cpu_us(pid_t pid);

/* VmRSS of PID in KiB; -1 when unreadable. */
long bl_proc_rss_kb(pid_t pid);

/* Entries in /proc/PID/fd; -1 when unreadable (not ours, gone). */
long bl_proc_fd_count(pid_t pid);

#endif
