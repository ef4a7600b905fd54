/* Unit tests of the lingering TLS connections (server/emu_linger.c) on Unix
 * socket pairs, with the emulator's epoll set and timer heap but no server
 * around them: a lingering fd is closed at its peer's EOF, survives input,
 * is closed at its deadline (given as "now", no clock involved), the list
 * is bounded, and everything is closed at shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/lh_time.h"
#include "server/emu_linger.h"
#include "server/emu_server.h"

static struct emu_server srv;
static int ours[EMU_LINGER_MAX + 1], theirs[EMU_LINGER_MAX + 1];

/* Whether fd is still open in this process. */
static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* The loop's parts the list uses, and EMU_LINGER_MAX + 1 connections whose
 * own end is shut down for writing, as emu_tls_close leaves it. */
static int setup(void **state)
{
	(void)state;
	memset(&srv, 0, sizeof(srv));
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	emu_timers_init(&srv.timers);
	for (int i = 0; i <= EMU_LINGER_MAX; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
			return -1;
		ours[i] = sv[0];
		theirs[i] = sv[1];
		shutdown(ours[i], SHUT_WR);
	}
	return srv.epfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	emu_linger_close_all(&srv);
	for (int i = 0; i <= EMU_LINGER_MAX; i++) {
		close(theirs[i]);
		if (is_open(ours[i]))
			close(ours[i]);
	}
	emu_timers_fini(&srv.timers);
	close(srv.epfd);
	return 0;
}

/* Hands every ready lingering fd to emu_linger_readable, as dispatch() does. */
static void dispatch_ready(void)
{
	struct epoll_event evs[EMU_LINGER_MAX];
	int n = epoll_wait(srv.epfd, evs, EMU_LINGER_MAX, 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(EMU_FD_KIND(evs[i].data.u64), EMU_FD_TLS_LINGER);
		emu_linger_readable(&srv, EMU_FD_ID(evs[i].data.u64));
	}
}

static void linger_lifecycle(void **state)
{
	(void)state;
	int64_t now = lh_time_mono_ms();
	for (int i = 0; i < EMU_LINGER_MAX; i++)
		assert_int_equal(emu_linger_add(&srv, ours[i]), 0);
	/* Full: the next one stays the caller's. */
	assert_int_equal(emu_linger_add(&srv, ours[EMU_LINGER_MAX]), -1);
	assert_true(is_open(ours[EMU_LINGER_MAX]));
	assert_int_equal(emu_linger_count(&srv), EMU_LINGER_MAX);
	/* The deadlines wake the loop: the timer heap has them. */
	assert_true(emu_timers_next_in(&srv.timers, now) >= 0);
	/* Input is read and dropped; the connection lingers on. */
	assert_int_equal(write(theirs[5], "late data", 9), 9);
	dispatch_ready();
	assert_true(is_open(ours[5]));
	assert_int_equal(recv(ours[5], (char[1]){0}, 1, MSG_DONTWAIT), -1);
	/* The peer's EOF ends it at once. */
	shutdown(theirs[3], SHUT_WR);
	dispatch_ready();
	assert_false(is_open(ours[3]));
	assert_int_equal(emu_linger_count(&srv), EMU_LINGER_MAX - 1);
	/* Before the deadline nothing else closes; at it, everything. */
	emu_linger_expire(&srv, now - 1);
	assert_int_equal(emu_linger_count(&srv), EMU_LINGER_MAX - 1);
	emu_linger_expire(&srv, lh_time_mono_ms() + EMU_LINGER_MS);
	assert_int_equal(emu_linger_count(&srv), 0);
	for (int i = 0; i < EMU_LINGER_MAX; i++)
		assert_false(is_open(ours[i]));
}

static void linger_close_all(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(emu_linger_add(&srv, ours[i]), 0);
	emu_linger_close_all(&srv);
	assert_int_equal(emu_linger_count(&srv), 0);
	for (int i = 0; i < 3; i++)
		assert_false(is_open(ours[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(linger_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(linger_close_all, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
