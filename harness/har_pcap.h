#ifndef HAR_PCAP_H
#define HAR_PCAP_H
#include <netinet/in.h>
#include <stddef.h>

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
/* Closes the file (NULL is fine). */
void har_pcap_close(struct har_pcap *p);
/* Builds the IPv4+UDP headers for a datagram into out (28 bytes); exposed
 * for the unit tests. Returns the header length. */
size_t har_pcap_headers(unsigned char *out, const struct sockaddr_in *src,
			const struct sockaddr_in *dst, size_t payload_len, unsigned ip_id);

#endif
