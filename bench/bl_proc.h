/* bl_proc: what the benchmark reads about the server process from /proc:
 * its CPU time, resident memory and open file descriptors, and for the
 * latency intervals its scheduling delay and the UDP drop counter. */
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

/* Nanoseconds PID (0: this process) spent on a CPU and runnable but waiting
 * for one, from /proc/PID/schedstat; -1 when unreadable. */
int bl_proc_schedstat(pid_t pid, uint64_t *run_ns, uint64_t *wait_ns);

/* /proc/net/snmp's Udp RcvbufErrors (datagrams dropped on a full receive
 * buffer, all sockets); -1 when unreadable. */
long long bl_proc_udp_rcvbuf_errors(void);

/* Steal time of CPU cpu in ms (/proc/stat: the hypervisor ran something
 * else while the vCPU wanted to run); -1 when unreadable. */
long long bl_proc_steal_ms(int cpu);

#endif
