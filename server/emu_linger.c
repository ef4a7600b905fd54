/* Lingering TLS connections (emu_linger.h): a small array in the server, in epoll as
 * EMU_FD_TLS_LINGER with the fd as id, each with a deadline that the timer
 * heap wakes the loop for. */
#include "emu_linger.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emu_server.h"
#include "lh_time.h"

/* The timer-heap entry that ends the loop's wait at a deadline names this
 * session id, which no session has (ids count up from 1): run_timers skips
 * it, and emu_linger_expire runs right after. */
#define EMU_LINGER_WAKE UINT64_MAX
/* Reads per readable event, so a peer that keeps sending cannot hold the
 * loop; the deadline ends it. */
#define EMU_LINGER_READS 16

/* Closes entry i and fills its slot with the last one. */
static void linger_close(struct emu_server *srv, size_t i)
{
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->linger.fds[i].fd, NULL);
	close(srv->linger.fds[i].fd);
	srv->linger.fds[i] = srv->linger.fds[--srv->linger.count];
}

int emu_linger_add(struct emu_server *srv, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN,
				 .data.u64 = EMU_FD_TAG(EMU_FD_TLS_LINGER, (uint64_t)fd)};
	int64_t deadline = lh_time_mono_ms() + lh_time_real_ms(EMU_LINGER_MS);
	if (srv->linger.count == EMU_LINGER_MAX || epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	/* Without the wake-up (out of memory) the fd still closes at EOF or at
	 * the next wake-up of the loop (housekeeping: within a second). */
	(void)emu_timers_push(&srv->timers, deadline, EMU_LINGER_WAKE, 0);
	srv->linger.fds[srv->linger.count].fd = fd;
	srv->linger.fds[srv->linger.count++].deadline = deadline;
	return 0;
}

void emu_linger_readable(struct emu_server *srv, uint64_t fd)
{
	uint8_t buf[4096];
	size_t i = 0;
	while (i < srv->linger.count && (uint64_t)srv->linger.fds[i].fd != fd)
		i++;
	if (i == srv->linger.count)
		return;
	for (int n = 0; n < EMU_LINGER_READS; n++) {
		ssize_t got = recv(srv->linger.fds[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (got > 0)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		linger_close(srv, i); /* EOF or error: the peer is done */
		return;
	}
}

void emu_linger_expire(struct emu_server *srv, int64_t now)
{
	for (size_t i = srv->linger.count; i-- > 0;)
		if (srv->linger.fds[i].deadline <= now)
			linger_close(srv, i);
}

void emu_linger_close_all(struct emu_server *srv)
{
	while (srv->linger.count > 0)
		linger_close(srv, srv->linger.count - 1);
}

size_t emu_linger_count(const struct emu_server *srv)
{
	return srv->linger.count;
}
