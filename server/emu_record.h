#ifndef EMU_RECORD_H
#define EMU_RECORD_H
#include <stddef.h>
#include <stdint.h>

/* DTLS 1.2 record and handshake framing, parsed by hand where the demux must
 * look at a datagram before any per-peer state exists (RFC 6347 §4.1, §4.2.1;
 * RFC 9146 §4 for the tls12_cid record), and the first bytes of a TLS stream,
 * read before its Mbed TLS context is set up (RFC 5246 §6.2.1, §7.4.1.2).
 * Pure functions, no allocation. */

#define EMU_CT_CHANGE_CIPHER_SPEC 20
#define EMU_CT_ALERT 21
#define EMU_CT_HANDSHAKE 22
#define EMU_CT_APPLICATION_DATA 23
#define EMU_CT_HEARTBEAT 24
#define EMU_CT_TLS12_CID 25

#define EMU_HS_CLIENT_HELLO 1
#define EMU_HS_HELLO_VERIFY_REQUEST 3

#define EMU_RECORD_HDR_LEN 13
#define EMU_TLS_RECORD_HDR_LEN 5
#define EMU_TLS_RECORD_MAX 16384 /* a plaintext record's body (2^14) */
#define EMU_HS_HDR_LEN 12
#define EMU_COOKIE_MAX 255

struct emu_record {
	uint8_t type;
	uint16_t version;
	uint16_t epoch;
	uint64_t seq;	    /* 48-bit sequence number */
	const uint8_t *cid; /* inside the datagram; NULL when not type 25 */
	size_t cid_len;
	const uint8_t *body; /* fragment (ciphertext from epoch 1 on) */
	size_t body_len;
	size_t total_len; /* header + body: where the next record starts */
};

struct emu_client_hello {
	uint16_t msg_seq;
	int fragmented;	       /* 1 when the record holds only part of it */
	const uint8_t *random; /* the 32-byte client random */
	const uint8_t *cookie;
	size_t cookie_len;
	const uint8_t *sni; /* first host_name of server_name (RFC 6066 §3), or NULL */
	size_t sni_len;
};

/* How far a scan of a TLS stream's first bytes got; all zero for a new
 * stream. off is where the record being looked at starts. */
struct emu_tls_hello_scan {
	size_t off;
	size_t hs_len;	   /* handshake bytes in the whole records before off */
	uint8_t hs_hdr[4]; /* the first four: message type and 24-bit length */
};

enum emu_tls_hello_status {
	EMU_TLS_HELLO_MORE = 0,		     /* nothing wrong so far: read on */
	EMU_TLS_HELLO_DONE = 1,		     /* the whole first handshake message is in */
	EMU_TLS_HELLO_NOT_TLS = -1,	     /* not a TLS record header */
	EMU_TLS_HELLO_NOT_HANDSHAKE = -2,    /* a whole record of another type, at off */
	EMU_TLS_HELLO_NOT_CLIENT_HELLO = -3, /* another handshake message */
	EMU_TLS_HELLO_OVERSIZED_RECORD = -4, /* a record longer than 2^14 */
	EMU_TLS_HELLO_OVERSIZED = -5,	     /* a ClientHello longer than max_msg */
};

/* Parses the record at buf. cid_len is the CID length this server assigns
 * (only used for type 25). Returns 0, or -1 when the record is truncated or
 * not DTLS (version must be 0xfeff or 0xfefd). */
int emu_record_parse(const uint8_t *buf, size_t len, size_t cid_len, struct emu_record *out);
/* Parses an epoch-0 handshake record holding a ClientHello; returns 0, or -1
 * when it is not one or is malformed. */
int emu_record_client_hello(const struct emu_record *rec, struct emu_client_hello *out);
/* Writes a HelloVerifyRequest record answering a ClientHello whose record had
 * sequence number rec_seq. Returns its length, or 0 when out is too small. */
size_t emu_record_write_hvr(uint8_t *out, size_t size, uint64_t rec_seq, const uint8_t *cookie,
			    size_t cookie_len);
/* The same, with the handshake message_seq echoing the ClientHello's
 * (msg_seq): a client that already got one HelloVerifyRequest expects the
 * next answer at its second ClientHello's message_seq and drops a second
 * HelloVerifyRequest at 0 as a stale retransmission. */
size_t emu_record_write_hvr_seq(uint8_t *out, size_t size, uint64_t rec_seq, uint16_t msg_seq,
				const uint8_t *cookie, size_t cookie_len);
/* Reads a plaintext (epoch 0) alert record: level and description. Returns 0,
 * or -1 when rec is not a readable alert. */
int emu_record_alert(const struct emu_record *rec, int *level, int *description);
/* Finds the first plaintext alert among the TLS (stream) records in buf, as
 * Mbed TLS writes them. Returns 0 with level and description, or -1. */
int emu_record_tls_alert(const uint8_t *buf, size_t len, int *level, int *description);
/* Scans the first len bytes of a TLS stream (the same buf, longer at each
 * call, until the result is not EMU_TLS_HELLO_MORE) up to the end of its
 * first handshake message, which must be a ClientHello of at most max_msg
 * bytes; it may span several records. Returns an emu_tls_hello_status. */
int emu_record_tls_hello_scan(struct emu_tls_hello_scan *sc, const uint8_t *buf, size_t len,
			      size_t max_msg);
/* Parses the ClientHello of a stream scanned to EMU_TLS_HELLO_DONE: its
 * handshake message is copied into msg (msg_size bytes), where out's
 * pointers then point (out->cookie stays NULL). Returns 0, or -1 when it
 * does not fit or is too short to hold a ClientHello. */
int emu_record_tls_client_hello(const uint8_t *buf, size_t len, uint8_t *msg, size_t msg_size,
				struct emu_client_hello *out);
/* The epoch and sequence number as one ordered 64-bit value (epoch << 48 | seq). */
uint64_t emu_record_order(const struct emu_record *rec);

#endif
