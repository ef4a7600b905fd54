/* Lingering TLS connections (emu_linger.h): a small array, in epoll as
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

struct emu_linger {
	int fd;
	int64_t deadline;
};

static struct emu_linger lingering[EMU_LINGER_MAX];
static size_t lingering_count;

/* Closes entry i and fills its slot with the last one. */
static void linger_close(struct emu_server *srv, size_t i)
{
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, lingering[i].fd, NULL);
	close(lingering[i].fd);
	lingering[i] = lingering[--lingering_count];
}

int emu_linger_add(struct emu_server *srv, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN,
				 .data.u64 = EMU_FD_TAG(EMU_FD_TLS_LINGER, (uint64_t)fd)};
	int64_t deadline = lh_time_mono_ms() + EMU_LINGER_MS;
	if (lingering_count == EMU_LINGER_MAX || epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	/* Without the wake-up (out of memory) the fd still closes at EOF or at
	 * the next wake-up of the loop (housekeeping: within a second). */
	(void)emu_timers_push(&srv->timers, deadline, EMU_LINGER_WAKE, 0);
	lingering[lingering_count++] = (struct emu_linger){fd, deadline};
	return 0;
}

void emu_linger_readable(struct emu_server *srv, uint64_t fd)
{
	uint8_t buf[4096];
	size_t i = 0;
	while (i < lingering_count && (uint64_t)lingering[i].fd != fd)
		i++;
	if (i == lingering_count)
		return;
	for (int n = 0; n < EMU_LINGER_READS; n++) {
		ssize_t got = recv(lingering[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
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
	for (size_t i = lingering_count; i-- > 0;)
		if (lingering[i].deadline <= now)
			linger_close(srv, i);
}

void emu_linger_close_all(struct emu_server *srv)
{
	while (lingering_count > 0)
		linger_close(srv, lingering_count - 1);
}

size_t emu_linger_count(void)
{
	return lingering_count;
}
