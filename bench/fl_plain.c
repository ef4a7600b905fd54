/* fl_plain: the fleet's NoSec transport (see fl_fleet.h, struct
 * fl_transport): plain CoAP over UDP (LwM2M security mode NoSec, the usual
 * first step of a bring-up), one datagram per message on the device's own
 * connected socket, which it keeps for as long as it lives: without DTLS
 * there is no CID, so the server knows a device by its address and port. */
#include "fl_fleet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* A send or receive that failed, by class: a closed port (ICMP port
 * unreachable, reported on the connected socket) or anything else. */
static void count_errno(struct fl_fleet *f, struct fl_dev *d, int e, const char *what)
{
	if (e == ECONNREFUSED)
		f->c.err.refused++;
	else
		f->c.err.other++;
	fl_error(f, d, "%s: %s%s", what, strerror(e),
		 e == ECONNREFUSED ? " (port unreachable: is the server running?)" : "");
}

/* Transport: nothing to negotiate; the device Registers at once. */
static int plain_connect(struct fl_fleet *f, struct fl_dev *d)
{
	fl_dev_connected(f, d);
	return 0;
}

/* Transport: one datagram. One the kernel cannot take now is dropped like
 * on a network; the CoAP retransmission covers it. */
static int plain_write(struct fl_fleet *f, struct fl_dev *d, const uint8_t *buf, size_t len,
		       const char *what)
{
	if (send(d->fd, buf, len, 0) >= 0)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return 0;
	count_errno(f, d, errno, what);
	return -1;
}

/* Transport: every datagram waiting, each a CoAP message. */
static void plain_readable(struct fl_fleet *f, struct fl_dev *d)
{
	uint8_t buf[2048];
	while (d->fd >= 0) {
		ssize_t n = recv(d->fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n < 0) {
			count_errno(f, d, errno, "receive");
			fl_dev_fail(f, d);
			return;
		}
		fl_dev_coap(f, d, buf, (size_t)n);
	}
}

/* Transport: no state beyond the socket, which fl_net keeps. */
static void plain_sleep(struct fl_fleet *f, struct fl_dev *d)
{
	(void)f;
	(void)d;
}

/* Transport: always awake. */
static int plain_wake(struct fl_fleet *f, struct fl_dev *d)
{
	(void)f;
	(void)d;
	return 0;
}

/* Transport: no handshake, so never called; kept total for the table. */
static void plain_tick(struct fl_fleet *f, struct fl_dev *d)
{
	(void)f;
	(void)d;
}

/* Transport: nothing to free. */
static void plain_drop(struct fl_dev *d)
{
	(void)d;
}

const struct fl_transport fl_plain_transport = {
    .connect = plain_connect,
    .write = plain_write,
    .readable = plain_readable,
    .sleep = plain_sleep,
    .wake = plain_wake,
    .tick = plain_tick,
    .drop = plain_drop,
};
