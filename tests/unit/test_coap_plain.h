/* Hand-written CoAP over a plain UDP socket, for the emulator's end-to-end
 * tests of its CoAP layer (test_emu_plain.c, test_emu_msg.c). */
#ifndef TEST_COAP_PLAIN_H
#define TEST_COAP_PLAIN_H
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#define COAP_CON 0x40
#define COAP_ACK 0x60

/* Appends option number num (after last) with value v of n bytes. */
static inline size_t put_option(uint8_t *p, int *last, int num, const void *v, size_t n)
{
	size_t i = 1;
	int delta = num - *last;
	p[0] = (uint8_t)((delta < 13 ? delta : 13) << 4 | (n < 13 ? n : 13));
	if (delta >= 13)
		p[i++] = (uint8_t)(delta - 13);
	if (n >= 13)
		p[i++] = (uint8_t)(n - 13);
	memcpy(p + i, v, n);
	*last = num;
	return i + n;
}

/* A CON request with token 0x5a: Uri-Path segments of path, an optional
 * Uri-Query and payload. Returns its length. */
static inline size_t build_request(uint8_t *out, uint8_t code, uint16_t mid, const char *path,
				   const char *query, const char *payload)
{
	char tmp[128];
	int last = 0;
	size_t n = 0;
	out[n++] = COAP_CON | 1;
	out[n++] = code;
	out[n++] = (uint8_t)(mid >> 8);
	out[n++] = (uint8_t)mid;
	out[n++] = 0x5a;
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *seg = strtok(tmp, "/"); seg; seg = strtok(NULL, "/"))
		n += put_option(out + n, &last, 11, seg, strlen(seg));
	if (query)
		n += put_option(out + n, &last, 15, query, strlen(query));
	if (payload) {
		out[n++] = 0xff;
		memcpy(out + n, payload, strlen(payload));
		n += strlen(payload);
	}
	return n;
}

/* Receives one datagram within WAIT_MS; returns its length or -1. */
static inline ssize_t recv_within(int fd, uint8_t *buf, size_t size)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, WAIT_MS) != 1)
		return -1;
	return recv(fd, buf, size, 0);
}

#endif
