/* abuse_flood: floods lwm2m-emulator's DTLS port on loopback and counts, on
 * the wire, what comes back. Used by tests/abuse/test-abuse.sh.
 *
 *   abuse_flood hello   PORT COUNT SOCKETS   spoofed ClientHellos from SOCKETS
 *                        sockets at a time, each bound to its own 127.x.y.z
 *                        and ephemeral port, renewed every SOCKETS*10 sends
 *   abuse_flood amp     PORT COUNT WAIT_MS   one ClientHello from each of COUNT
 *                        fresh sources, then WAIT_MS of listening (the server's
 *                        retransmissions count too)
 *   abuse_flood garbage PORT CID_HEX COUNT   garbage datagrams, truncated and
 *                        bad-MAC tls12_cid records carrying CID_HEX, from
 *                        127.x.y.z sockets that are not the session's peer
 *   abuse_flood spoof   PORT SRC_PORT COUNT  (root: raw socket) unauthenticated
 *                        datagrams that claim to come from the session's own
 *                        peer 127.0.0.1:SRC_PORT, as an off-path attacker
 *                        spoofing UDP would send them
 *
 * Prints one line of key=value counts (sent/received datagrams and bytes,
 * sources used) for the driver to check. Only 127.0.0.0/8 is ever used. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define AF_MAX_SOCKETS 900
#define AF_SENDS_PER_SOCKET 10
#define AF_WINDOW 48   /* hellos in flight before waiting for answers */
#define AF_QUIET_MS 30 /* no answer for this long: stop waiting */
#define AF_CH_MAX 256

struct af_counts {
	uint64_t sent, sent_bytes, recv, recv_bytes, sources, lost_waits;
};

struct af_pool {
	int fd[AF_MAX_SOCKETS];
	uint64_t tx[AF_MAX_SOCKETS], rx[AF_MAX_SOCKETS]; /* bytes per source */
	size_t n;
	uint32_t next_addr; /* host part below 127.0.0.0/8 for the next socket */
};

/* Milliseconds on the monotonic clock, for bounded waits. */
static int64_t af_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Big-endian store, the wire order of every DTLS field. */
static void af_put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[n - 1 - i] = (uint8_t)(v >> (8 * i));
}

/* A DTLS 1.2 ClientHello built from the RFC 6347 layout, without a cookie,
 * offering one ECDHE-ECDSA suite so that a server without cookies answers
 * with its whole certificate flight (the largest answer it can give). */
static size_t af_client_hello(uint8_t *out, uint64_t seq)
{
	static const uint8_t ext[] = {
	    0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, /* supported_groups: secp256r1 */
	    0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,		    /* ec_point_formats: uncompressed */
	    0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03, /* signature_algorithms: ecdsa_sha256 */
	};
	uint8_t body[AF_CH_MAX];
	size_t b = 0;
	af_put(body, 0xfefd, 2);
	b = 2;
	for (int i = 0; i < 32; i++)
		body[b++] = (uint8_t)rand();
	body[b++] = 0; /* session_id */
	body[b++] = 0; /* cookie */
	af_put(body + b, 4, 2);
	af_put(body + b + 2, 0xc0ae, 2); /* TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 */
	af_put(body + b + 4, 0xc0a8, 2); /* TLS_PSK_WITH_AES_128_CCM_8 */
	b += 6;
	body[b++] = 1;
	body[b++] = 0; /* compression: null */
	af_put(body + b, sizeof(ext), 2);
	memcpy(body + b + 2, ext, sizeof(ext));
	b += 2 + sizeof(ext);
	out[0] = 22;
	af_put(out + 1, 0xfefd, 2);
	af_put(out + 3, 0, 2);
	af_put(out + 5, seq, 6);
	af_put(out + 11, 12 + b, 2);
	out[13] = 1; /* client_hello */
	af_put(out + 14, b, 3);
	af_put(out + 17, 0, 2);
	af_put(out + 19, 0, 3);
	af_put(out + 22, b, 3);
	memcpy(out + 25, body, b);
	return 25 + b;
}

/* A non-blocking UDP socket on 127.<host> with an ephemeral port, connected
 * to the emulator. Returns the fd or -1. */
static int af_socket(uint32_t host, int port)
{
	struct sockaddr_in src = {.sin_family = AF_INET};
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	src.sin_addr.s_addr = htonl(0x7f000000u | (host & 0x00ffffffu));
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Closes every socket of the pool. */
static void af_pool_close(struct af_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		close(p->fd[i]);
	p->n = 0;
}

/* Fills the pool with n fresh sources: new addresses in 127.1.0.0 up (never
 * 127.0.0.1, where the emulator and the client live), new ports. */
static int af_pool_open(struct af_pool *p, size_t n, int port, struct af_counts *c)
{
	af_pool_close(p);
	for (size_t i = 0; i < n; i++) {
		p->next_addr = p->next_addr % 0xfe0000u;
		/* Skip .0 and .255 host bytes: valid on lo, but confusing in logs. */
		if ((p->next_addr & 0xff) == 0 || (p->next_addr & 0xff) == 0xff)
			p->next_addr++;
		int fd = af_socket(0x010000u + p->next_addr++, port);
		if (fd < 0) {
			perror("abuse_flood: socket on 127.0.0.0/8");
			return -1;
		}
		p->tx[p->n] = p->rx[p->n] = 0;
		p->fd[p->n++] = fd;
		c->sources++;
	}
	return 0;
}

/* Reads every datagram waiting on the pool's sockets. Returns how many. */
static uint64_t af_drain(struct af_pool *p, struct af_counts *c)
{
	uint8_t buf[4096];
	uint64_t got = 0;
	for (size_t i = 0; i < p->n; i++) {
		ssize_t n;
		while ((n = recv(p->fd[i], buf, sizeof(buf), 0)) >= 0) {
			p->rx[i] += (uint64_t)n;
			c->recv++;
			c->recv_bytes += (uint64_t)n;
			got++;
		}
	}
	return got;
}

/* Waits until answers stop arriving for AF_QUIET_MS (or max_ms passed). */
static void af_settle(struct af_pool *p, struct af_counts *c, int max_ms)
{
	int64_t end = af_now_ms() + max_ms, last = af_now_ms();
	while (af_now_ms() < end && af_now_ms() - last < AF_QUIET_MS) {
		if (af_drain(p, c) > 0)
			last = af_now_ms();
		else
			usleep(1000);
	}
}

/* Sends one datagram from source i of the pool, counting it. */
static int af_send(struct af_pool *p, size_t i, const uint8_t *buf, size_t len, struct af_counts *c)
{
	ssize_t n = send(p->fd[i], buf, len, 0);
	if (n < 0 && (errno == EAGAIN || errno == ECONNREFUSED))
		return 0; /* a full buffer or an ICMP error from an earlier send */
	if (n < 0) {
		perror("abuse_flood: send");
		return -1;
	}
	c->sent++;
	c->sent_bytes += (uint64_t)n;
	p->tx[i] += (uint64_t)n;
	return 0;
}

/* Keeps at most AF_WINDOW hellos unanswered, so the flood measures the
 * emulator rather than the kernel's socket buffer. */
static void af_pace(struct af_pool *p, struct af_counts *c)
{
	int64_t start = af_now_ms();
	while (c->sent > c->recv + c->lost_waits + AF_WINDOW) {
		if (af_drain(p, c) > 0) {
			start = af_now_ms();
			continue;
		}
		if (af_now_ms() - start >= AF_QUIET_MS) {
			c->lost_waits += AF_WINDOW / 2; /* no answers (cookies off): go on */
			break;
		}
		usleep(200);
	}
}

/* The largest bytes-received / bytes-sent of any one source: RFC 9147 §5.1
 * bounds each unvalidated address, not the sum. */
static double af_max_ratio(const struct af_pool *p)
{
	double max = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->tx[i] && (double)p->rx[i] / (double)p->tx[i] > max)
			max = (double)p->rx[i] / (double)p->tx[i];
	return max;
}

/* One line of counts for the driver to parse. */
static void af_print(const char *mode, const struct af_counts *c)
{
	printf("mode=%s sent=%llu sent_bytes=%llu recv=%llu recv_bytes=%llu sources=%llu\n", mode,
	       (unsigned long long)c->sent, (unsigned long long)c->sent_bytes,
	       (unsigned long long)c->recv, (unsigned long long)c->recv_bytes,
	       (unsigned long long)c->sources);
}

/* (a) COUNT spoofed ClientHellos from ever-new sources. */
static int af_hello(int port, uint64_t count, size_t sockets)
{
	struct af_pool p = {.n = 0, .next_addr = 1};
	struct af_counts c = {0};
	uint8_t ch[AF_CH_MAX + 32];
	int ret = -1;
	for (uint64_t k = 0; k < count; k++) {
		if (k % (sockets * AF_SENDS_PER_SOCKET) == 0) {
			af_settle(&p, &c, 1000);
			if (af_pool_open(&p, sockets, port, &c) < 0)
				goto exit;
		}
		size_t len = af_client_hello(ch, k);
		if (af_send(&p, k % p.n, ch, len, &c) < 0)
			goto exit;
		af_pace(&p, &c);
	}
	af_settle(&p, &c, 2000);
	af_print("hello", &c);
	ret = 0;
exit:
	af_pool_close(&p);
	return ret;
}

/* (b) One ClientHello per fresh source, then everything that comes back
 * within wait_ms (a server without cookies retransmits its flight). */
static int af_amp(int port, uint64_t count, int wait_ms)
{
	struct af_pool p = {.n = 0, .next_addr = 0x200001};
	struct af_counts c = {0};
	uint8_t ch[AF_CH_MAX + 32];
	int ret = -1;
	if (count > AF_MAX_SOCKETS || af_pool_open(&p, (size_t)count, port, &c) < 0)
		goto exit;
	for (size_t i = 0; i < p.n; i++) {
		size_t len = af_client_hello(ch, 0);
		if (af_send(&p, i, ch, len, &c) < 0)
			goto exit;
		if (i % 16 == 15)
			af_drain(&p, &c); /* keep the client's buffers from overflowing */
	}
	for (int64_t end = af_now_ms() + wait_ms; af_now_ms() < end;) {
		af_drain(&p, &c);
		usleep(2000);
	}
	af_drain(&p, &c);
	af_print("amp", &c);
	printf("max_source_ratio=%.3f\n", af_max_ratio(&p));
	ret = 0;
exit:
	af_pool_close(&p);
	return ret;
}

/* One abusive datagram for the CID session: kind cycles through a bad-MAC
 * tls12_cid record (epoch 1, ever newer sequence numbers), a truncated one,
 * and plain random bytes. */
static size_t af_garbage(uint8_t *out, uint64_t k, const uint8_t *cid, size_t cid_len)
{
	size_t body = 16 + (size_t)(rand() % 200), n;
	switch (k % 4) {
	case 0:
	case 1:
		out[0] = 25;
		af_put(out + 1, 0xfefd, 2);
		af_put(out + 3, 1, 2);
		af_put(out + 5, 1000 + k, 6);
		memcpy(out + 11, cid, cid_len);
		af_put(out + 11 + cid_len, body, 2);
		for (size_t i = 0; i < body; i++)
			out[13 + cid_len + i] = (uint8_t)rand();
		return 13 + cid_len + body;
	case 2:
		n = 11 + (size_t)(rand() % (int)(cid_len + 2)); /* header cut short */
		out[0] = 25;
		af_put(out + 1, 0xfefd, 2);
		memset(out + 3, 0, 8);
		memcpy(out + 11, cid, n > 11 ? n - 11 : 0);
		return n;
	default:
		for (size_t i = 0; i < body; i++)
			out[i] = (uint8_t)rand();
		return body;
	}
}

/* (c) COUNT garbage and bad-MAC records into the session with this CID. */
static int af_garbage_flood(int port, const char *cid_hex, uint64_t count)
{
	struct af_pool p = {.n = 0, .next_addr = 0x300001};
	struct af_counts c = {0};
	uint8_t cid[32], buf[512];
	size_t cid_len = strlen(cid_hex) / 2;
	int ret = -1;
	if (cid_len == 0 || cid_len > sizeof(cid) || strlen(cid_hex) % 2) {
		fprintf(stderr, "abuse_flood: bad CID hex '%s'\n", cid_hex);
		return -1;
	}
	for (size_t i = 0; i < cid_len; i++)
		if (sscanf(cid_hex + 2 * i, "%2hhx", &cid[i]) != 1)
			return -1;
	if (af_pool_open(&p, 64, port, &c) < 0)
		goto exit;
	for (uint64_t k = 0; k < count; k++) {
		if (af_send(&p, k % p.n, buf, af_garbage(buf, k, cid, cid_len), &c) < 0)
			goto exit;
		if (k % 64 == 63) /* the emulator checks each MAC: let it keep up */
			usleep(500);
	}
	af_settle(&p, &c, 500);
	af_print("garbage", &c);
	ret = 0;
exit:
	af_pool_close(&p);
	return ret;
}

/* One spoofed datagram: a short plaintext record with a bogus version (the
 * 15 bytes fuzz_session found to close a session) or random bytes. */
static size_t af_spoof_payload(uint8_t *out, uint64_t k)
{
	static const uint8_t found[] = {0x16, 0xff, 0x00, 0x00, 0x00, 0x05, 0x01, 0x00,
					0x00, 0x04, 0x00, 0x00, 0x01, 0x00, 0x04};
	size_t n = 16 + (size_t)(rand() % 100);
	if (k % 2 == 0) {
		memcpy(out, found, sizeof(found));
		return sizeof(found);
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)rand();
	return n;
}

/* IPv4 + UDP headers by hand (the kernel fills the IP checksum and id; a
 * zero UDP checksum means none), from 127.0.0.1:src to 127.0.0.1:dst. */
static size_t af_spoof_packet(uint8_t *pkt, int src, int dst, const uint8_t *pl, size_t n)
{
	struct iphdr *ip = (struct iphdr *)pkt;
	struct udphdr *udp = (struct udphdr *)(pkt + sizeof(*ip));
	memset(pkt, 0, sizeof(*ip) + sizeof(*udp));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + sizeof(*udp) + n));
	ip->saddr = ip->daddr = htonl(INADDR_LOOPBACK);
	udp->source = htons((uint16_t)src);
	udp->dest = htons((uint16_t)dst);
	udp->len = htons((uint16_t)(sizeof(*udp) + n));
	memcpy(pkt + sizeof(*ip) + sizeof(*udp), pl, n);
	return sizeof(*ip) + sizeof(*udp) + n;
}

/* (c) COUNT unauthenticated datagrams from the session's own address. */
static int af_spoof(int port, int src_port, uint64_t count)
{
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct af_counts c = {0};
	uint8_t pl[256], pkt[512];
	int ret = -1;
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0) {
		perror("abuse_flood: raw socket (needs root)");
		return -1;
	}
	for (uint64_t k = 0; k < count; k++) {
		size_t n = af_spoof_packet(pkt, src_port, port, pl, af_spoof_payload(pl, k));
		if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			perror("abuse_flood: sendto (raw)");
			goto exit;
		}
		c.sent++;
		c.sent_bytes += n - 28;
		usleep(200);
	}
	c.sources = 1;
	af_print("spoof", &c);
	ret = 0;
exit:
	close(fd);
	return ret;
}

/* Parses a positive decimal argument, or -1. */
static long long af_arg(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	return *s && !*end && v > 0 ? v : -1;
}

int main(int argc, char **argv)
{
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	if (argc == 5 && strcmp(argv[1], "hello") == 0 && af_arg(argv[2]) > 0 &&
	    af_arg(argv[3]) > 0 && af_arg(argv[4]) > 0 && af_arg(argv[4]) <= AF_MAX_SOCKETS)
		return af_hello((int)af_arg(argv[2]), (uint64_t)af_arg(argv[3]),
				(size_t)af_arg(argv[4])) == 0
			   ? 0
			   : 1;
	if (argc == 5 && strcmp(argv[1], "amp") == 0 && af_arg(argv[2]) > 0 &&
	    af_arg(argv[3]) > 0 && af_arg(argv[4]) > 0)
		return af_amp((int)af_arg(argv[2]), (uint64_t)af_arg(argv[3]),
			      (int)af_arg(argv[4])) == 0
			   ? 0
			   : 1;
	if (argc == 5 && strcmp(argv[1], "garbage") == 0 && af_arg(argv[2]) > 0 &&
	    af_arg(argv[4]) > 0)
		return af_garbage_flood((int)af_arg(argv[2]), argv[3], (uint64_t)af_arg(argv[4])) ==
			       0
			   ? 0
			   : 1;
	if (argc == 5 && strcmp(argv[1], "spoof") == 0 && af_arg(argv[2]) > 0 &&
	    af_arg(argv[3]) > 0 && af_arg(argv[3]) < 65536 && af_arg(argv[4]) > 0)
		return af_spoof((int)af_arg(argv[2]), (int)af_arg(argv[3]),
				(uint64_t)af_arg(argv[4])) == 0
			   ? 0
			   : 1;
	fprintf(stderr, "usage: abuse_flood hello PORT COUNT SOCKETS | amp PORT COUNT WAIT_MS |\n"
			"       garbage PORT CID_HEX COUNT | spoof PORT SRC_PORT COUNT\n"
			"       (127.0.0.0/8 only)\n");
	return 2;
}
