/* bl_proc: /proc readers for the server under test (see bl_proc.h). The
 * server is another process, so this is the only honest view of its cost:
 * its own CPU accounting, not the load generator's wall clock. */
#include "bl_proc.h"

#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Fields 14 and 15 of /proc/PID/stat, in clock ticks. */
int64_t bl_proc_cpu_us(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || hz <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (int64_t)((ut + st) * 1000000ull / (unsigned long long)hz);
}

/* VmRSS from /proc/PID/status: resident memory, what sessions cost. */
long bl_proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* What `ls /proc/PID/fd | wc -l` says, without a shell. */
long bl_proc_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	long n = 0;
	DIR *d;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* /proc/PID/schedstat: time on a CPU and time runnable but waiting for one,
 * in ns (CONFIG_SCHEDSTATS-free, unlike /proc/PID/sched). The wait is what
 * tells "the server was busy" from "the server was preempted". */
int bl_proc_schedstat(pid_t pid, uint64_t *run_ns, uint64_t *wait_ns)
{
	char path[64];
	unsigned long long run, wait;
	int ok;
	FILE *f;
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/schedstat");
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fscanf(f, "%llu %llu", &run, &wait) == 2;
	fclose(f);
	if (!ok)
		return -1;
	*run_ns = run;
	*wait_ns = wait;
	return 0;
}

/* The Udp: RcvbufErrors counter of /proc/net/snmp (datagrams dropped since a
 * receive buffer was full), for all sockets of the network namespace: on
 * loopback during a run, that is the server's socket or ours. */
long long bl_proc_udp_rcvbuf_errors(void)
{
	char names[512], vals[512], *ns, *vs, *sn = NULL, *sv = NULL;
	long long v = -1;
	FILE *f = fopen("/proc/net/snmp", "r");
	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f))
		if (strncmp(names, "Udp:", 4) == 0)
			break;
	if (strncmp(names, "Udp:", 4) != 0 || !fgets(vals, sizeof(vals), f))
		goto exit;
	for (ns = strtok_r(names, " \n", &sn), vs = strtok_r(vals, " \n", &sv); ns && vs;
	     ns = strtok_r(NULL, " \n", &sn), vs = strtok_r(NULL, " \n", &sv))
		if (strcmp(ns, "RcvbufErrors") == 0) {
			v = atoll(vs);
			break;
		}
exit:
	fclose(f);
	return v;
}

/* The steal time of CPU cpu from /proc/stat (8th value of its "cpuN" line):
 * time the hypervisor ran something else while this vCPU wanted to run,
 * invisible to the guest's own scheduler statistics. */
long long bl_proc_steal_ms(int cpu)
{
	char want[16], line[512];
	unsigned long long v[8];
	long hz = sysconf(_SC_CLK_TCK);
	long long ms = -1;
	size_t wl;
	FILE *f = fopen("/proc/stat", "r");
	if (!f || hz <= 0)
		goto exit;
	snprintf(want, sizeof(want), "cpu%d ", cpu);
	wl = strlen(want);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, want, wl) == 0 &&
		    sscanf(line + wl, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
			ms = (long long)(v[7] * 1000ull / (unsigned long long)hz);
			break;
		}
exit:
	if (f)
		fclose(f);
	return ms;
}
