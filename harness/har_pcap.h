#ifndef HAR_PCAP_H
#define HAR_PCAP_H
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* A capture file of the simulated wire, written with libpcap: each UDP
 * datagram the relay exchanges with the server gets synthesized IPv4 and UDP
 * headers (linktype RAW), so Wireshark/tshark decode DTLS and, with the key
 * log, the CoAP inside. */
struct har_pcap;

/* Creates the file. Returns NULL (err filled) if libpcap cannot. */
struct har_pcap *har_pcap_open(const char *path, char *err, size_t errlen);
/* Appends one datagram from src to dst, timestamped now; flushed, so the
 * file is readable even if the harness is killed. Returns 0 or -1. */
int har_pcap_write(struct har_pcap *p, const struct sockaddr_in *src, const struct sockaddr_in *dst,
		   const unsigned char *data, size_t len);
/* Appends one TCP segment (flags: HAR_TCP_SYN, ...), so a relayed TLS
 * stream can be followed in Wireshark. Returns 0 or -1. */
int har_pcap_write_tcp(struct har_pcap *p, const struct sockaddr_in *src,
		       const struct sockaddr_in *dst, uint32_t seq, uint32_t ack, unsigned flags,
		       const unsigned char *data, size_t len);
/* Closes the file (NULL is fine). */
void har_pcap_close(struct har_pcap *p);
/* Builds the IPv4+UDP headers for a datagram into out (28 bytes); exposed
 * for the unit tests. Returns the header length. */
size_t har_pcap_headers(unsigned char *out, const struct sockaddr_in *src,
			const struct sockaddr_in *dst, size_t payload_len, unsigned ip_id);

/* The same for TCP (40 bytes: IPv4 + TCP without options). */
size_t har_pcap_tcp_headers(unsigned char *out, const struct sockaddr_in *src,
			    const struct sockaddr_in *dst, uint32_t seq, uint32_t ack,
			    unsigned flags, size_t payload_len, unsigned ip_id);

#define HAR_TCP_FIN 0x01
#define HAR_TCP_SYN 0x02
#define HAR_TCP_RST 0x04
#define HAR_TCP_PSH 0x08
#define HAR_TCP_ACK 0x10

#endif
