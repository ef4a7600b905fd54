#include "har_pcap.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define IP_HDR_LEN 20
#define UDP_HDR_LEN 8
#define TCP_HDR_LEN 20
#define SNAPLEN 65535

struct har_pcap {
	pcap_t *dead;
	pcap_dumper_t *dump;
	unsigned ip_id;
};

/* One capture per scenario, created before any traffic. */
struct har_pcap *har_pcap_open(const char *path, char *err, size_t errlen)
{
	struct har_pcap *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->dead = pcap_open_dead(DLT_RAW, SNAPLEN);
	if (!p->dead) {
		snprintf(err, errlen, "pcap_open_dead failed");
		goto err;
	}
	p->dump = pcap_dump_open(p->dead, path);
	if (!p->dump) {
		snprintf(err, errlen, "cannot create %s: %s", path, pcap_geterr(p->dead));
		goto err;
	}
	return p;
err:
	har_pcap_close(p);
	return NULL;
}

/* The Internet checksum (RFC 1071) of the IPv4 header. */
static uint16_t ip_checksum(const unsigned char *h, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The IPv4 header (20 bytes) of a packet with l4_len bytes after it. */
static void ip_header(unsigned char *out, const struct sockaddr_in *src,
		      const struct sockaddr_in *dst, int proto, size_t l4_len, unsigned ip_id)
{
	size_t total = IP_HDR_LEN + l4_len;
	memset(out, 0, IP_HDR_LEN);
	out[0] = 0x45; /* IPv4, 5 words of header */
	out[2] = (unsigned char)(total >> 8);
	out[3] = (unsigned char)total;
	out[4] = (unsigned char)(ip_id >> 8);
	out[5] = (unsigned char)ip_id;
	out[6] = 0x40; /* don't fragment */
	out[8] = 64;   /* TTL */
	out[9] = (unsigned char)proto;
	memcpy(out + 12, &src->sin_addr, 4);
	memcpy(out + 16, &dst->sin_addr, 4);
	uint16_t sum = ip_checksum(out, IP_HDR_LEN);
	out[10] = (unsigned char)(sum >> 8);
	out[11] = (unsigned char)sum;
}

/* Writes a 32-bit value in network byte order. */
static void put32(unsigned char *out, uint32_t v)
{
	out[0] = (unsigned char)(v >> 24);
	out[1] = (unsigned char)(v >> 16);
	out[2] = (unsigned char)(v >> 8);
	out[3] = (unsigned char)v;
}

/* Real IPv4/UDP headers so capture tools decode the payload as DTLS. */
size_t har_pcap_headers(unsigned char *out, const struct sockaddr_in *src,
			const struct sockaddr_in *dst, size_t payload_len, unsigned ip_id)
{
	size_t udp_len = UDP_HDR_LEN + payload_len;
	ip_header(out, src, dst, 17, udp_len, ip_id);
	memset(out + IP_HDR_LEN, 0, UDP_HDR_LEN);
	memcpy(out + 20, &src->sin_port, 2);
	memcpy(out + 22, &dst->sin_port, 2);
	out[24] = (unsigned char)(udp_len >> 8);
	out[25] = (unsigned char)udp_len;
	/* UDP checksum 0: "not computed", valid for IPv4. */
	return IP_HDR_LEN + UDP_HDR_LEN;
}

/* Real IPv4/TCP headers so a relayed TLS stream can be followed. */
size_t har_pcap_tcp_headers(unsigned char *out, const struct sockaddr_in *src,
			    const struct sockaddr_in *dst, uint32_t seq, uint32_t ack,
			    unsigned flags, size_t payload_len, unsigned ip_id)
{
	unsigned char *t = out + IP_HDR_LEN;
	ip_header(out, src, dst, 6, TCP_HDR_LEN + payload_len, ip_id);
	memset(t, 0, TCP_HDR_LEN);
	memcpy(t, &src->sin_port, 2);
	memcpy(t + 2, &dst->sin_port, 2);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 5 << 4; /* 5 words of header */
	t[13] = (unsigned char)flags;
	t[14] = 0xff; /* window 65535 */
	t[15] = 0xff;
	/* Checksum left 0: Wireshark does not verify it by default. */
	return IP_HDR_LEN + TCP_HDR_LEN;
}

/* Appends one packet (headers of length h already in pkt) with its data. */
static int dump(struct har_pcap *p, unsigned char *pkt, size_t h, const unsigned char *data,
		size_t len)
{
	struct pcap_pkthdr hdr;
	if (len)
		memcpy(pkt + h, data, len);
	gettimeofday(&hdr.ts, NULL);
	hdr.caplen = hdr.len = (bpf_u_int32)(h + len);
	pcap_dump((u_char *)p->dump, &hdr, pkt);
	return pcap_dump_flush(p->dump) == 0 ? 0 : -1;
}

/* Flushed per packet: the capture survives a killed harness. */
int har_pcap_write(struct har_pcap *p, const struct sockaddr_in *src, const struct sockaddr_in *dst,
		   const unsigned char *data, size_t len)
{
	static unsigned char pkt[IP_HDR_LEN + TCP_HDR_LEN + SNAPLEN];
	if (!p || len > SNAPLEN - IP_HDR_LEN - UDP_HDR_LEN)
		return -1;
	return dump(p, pkt, har_pcap_headers(pkt, src, dst, len, ++p->ip_id), data, len);
}

/* Flushed per segment, like the datagrams. */
int har_pcap_write_tcp(struct har_pcap *p, const struct sockaddr_in *src,
		       const struct sockaddr_in *dst, uint32_t seq, uint32_t ack, unsigned flags,
		       const unsigned char *data, size_t len)
{
	static unsigned char pkt[IP_HDR_LEN + TCP_HDR_LEN + SNAPLEN];
	if (!p || len > SNAPLEN - IP_HDR_LEN - TCP_HDR_LEN)
		return -1;
	size_t h = har_pcap_tcp_headers(pkt, src, dst, seq, ack, flags, len, ++p->ip_id);
	return dump(p, pkt, h, data, len);
}

/* Finishes the file; NULL-safe for scenarios without a capture. */
void har_pcap_close(struct har_pcap *p)
{
	if (!p)
		return;
	if (p->dump)
		pcap_dump_close(p->dump);
	if (p->dead)
		pcap_close(p->dead);
	free(p);
}
