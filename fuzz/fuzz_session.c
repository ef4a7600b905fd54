/* libFuzzer target: the emulator's input path after a session exists. A real
 * Mbed TLS DTLS client (PSK, asking for the server's CID, zero-length CID of
 * its own, as Anjay does) completes a handshake with the in-process emulator
 * (cookies on, 4-byte CID) over loopback; each input then goes one of four
 * ways, chosen by its first byte:
 *   0  CoAP plaintext, encrypted by the client and sent for real: decryption,
 *      the bridge, libcoap, and the LwM2M handlers (Register query, CoRE
 *      links, Update, De-register) behind it;
 *   1  a tls12_cid record with the session's CID and a fuzzed epoch, sequence
 *      number and body, sent from the client's own address;
 *   2  the same record from another address (RFC 9146 address change path);
 *   3  a raw datagram from the client's address (address lookup path).
 * The session must survive every input: nobody but its peer holds its keys.
 * FUZZ_SESSION_KINDS (e.g. "012") limits the kinds, to explore past a known
 * open bug in one of them. */
#include <errno.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fz_emu.h"
#include "emu_demux.h"
#include "lh_hex.h"
#include "lh_time.h"

struct fz_client {
	int fd;
	int64_t t_int, t_fin;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_entropy_context entropy;
	int up;
};

static struct emu_server *g_srv;
static struct fz_client g_cl;
static const int g_suites[] = {MBEDTLS_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
			       MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8, 0};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Client bio: one datagram per call on the connected socket. */
static int cl_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct fz_client *c = ctx;
	ssize_t n = send(c->fd, buf, len, 0);
	return n < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)n;
}

/* Non-blocking receive: the emulator runs in this thread between calls. */
static int cl_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct fz_client *c = ctx;
	ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	return (int)n;
}

/* Mbed TLS's DTLS timer for the client. */
static void cl_set_timer(void *ctx, uint32_t int_ms, uint32_t fin_ms)
{
	struct fz_client *c = ctx;
	int64_t now = lh_time_mono_ms();
	c->t_int = fin_ms ? now + int_ms : 0;
	c->t_fin = fin_ms ? now + fin_ms : 0;
}

/* The matching getter (-1 stopped, 0, 1 intermediate, 2 final). */
static int cl_get_timer(void *ctx)
{
	struct fz_client *c = ctx;
	int64_t now = lh_time_mono_ms();
	if (!c->t_fin)
		return -1;
	return now >= c->t_fin ? 2 : now >= c->t_int ? 1 : 0;
}

/* A UDP socket on 127.0.0.1, connected to the emulator's DTLS port. */
static int cl_socket(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)g_srv->dtls_port_bound),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	return fd;
}

/* The client's shared config: PSK "fuzz", CID negotiation with an empty own CID. */
static void cl_conf(struct fz_client *c)
{
	unsigned char key[16];
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_entropy_init(&c->entropy);
	if (lh_hex_decode(FZ_PSK_HEX, key, sizeof(key)) != (int)sizeof(key) ||
	    mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy, NULL, 0) != 0 ||
	    mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_DATAGRAM,
					MBEDTLS_SSL_PRESET_DEFAULT) != 0 ||
	    mbedtls_ssl_conf_psk(&c->conf, key, sizeof(key), (const unsigned char *)FZ_PSK_IDENTITY,
				 strlen(FZ_PSK_IDENTITY)) != 0 ||
	    mbedtls_ssl_conf_cid(&c->conf, 0, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE) != 0)
		abort();
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	mbedtls_ssl_conf_max_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
	/* PSK suites only, as LwM2M PSK clients offer: no certificate, no host name. */
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_ciphersuites(&c->conf, g_suites);
}

/* A fresh connection and handshake, the emulator pumped in between steps. */
static void cl_connect(struct fz_client *c)
{
	int ret = MBEDTLS_ERR_SSL_WANT_READ;
	if (c->up) {
		mbedtls_ssl_free(&c->ssl);
		close(c->fd);
	}
	fz_emu_close_all(g_srv);
	c->fd = cl_socket();
	mbedtls_ssl_init(&c->ssl);
	if (mbedtls_ssl_setup(&c->ssl, &c->conf) != 0 ||
	    mbedtls_ssl_set_cid(&c->ssl, MBEDTLS_SSL_CID_ENABLED, NULL, 0) != 0)
		abort();
	mbedtls_ssl_set_bio(&c->ssl, c, cl_send, cl_recv, NULL);
	mbedtls_ssl_set_timer_cb(&c->ssl, c, cl_set_timer, cl_get_timer);
	for (int i = 0; i < 500 && ret != 0; i++) {
		ret = mbedtls_ssl_handshake(&c->ssl);
		if (ret != 0 && ret != MBEDTLS_ERR_SSL_WANT_READ &&
		    ret != MBEDTLS_ERR_SSL_WANT_WRITE)
			break;
		fz_emu_pump(g_srv, 5);
	}
	if (ret != 0 || g_srv->sessions.count != 1) {
		fprintf(stderr, "fuzz_session: handshake with the emulator failed (%d)\n", ret);
		abort();
	}
	c->up = 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_srv = fz_emu_start(1, 4, NULL);
	cl_conf(&g_cl);
	cl_connect(&g_cl);
	return 0;
}

/* The one session, or NULL. */
static struct emu_session *the_session(void)
{
	return g_srv->sessions.count == 1 ? g_srv->sessions.by_id : NULL;
}

/* Builds a tls12_cid record: fuzzed epoch+seq (8 bytes), the session's CID, body. */
static size_t cid_record(const uint8_t *in, size_t n, const struct emu_session *s, uint8_t *out,
			 size_t size)
{
	uint8_t hdr[8] = {0, 1, 0, 0, 0, 0, 0, 0};
	size_t h = n < 8 ? n : 8;
	memcpy(hdr, in, h);
	in += h;
	n -= h;
	if (n > 0xffff || 13 + s->cid_len + n > size)
		return 0;
	out[0] = 25;
	out[1] = 0xfe;
	out[2] = 0xfd;
	memcpy(out + 3, hdr, 8);
	memcpy(out + 11, s->cid, s->cid_len);
	out[11 + s->cid_len] = (uint8_t)(n >> 8);
	out[12 + s->cid_len] = (uint8_t)n;
	memcpy(out + 13 + s->cid_len, in, n);
	return 13 + s->cid_len + n;
}

/* Reads (and discards) whatever the emulator answered. */
static void cl_drain(struct fz_client *c)
{
	unsigned char buf[2048];
	for (int i = 0; i < 16; i++) {
		int ret = mbedtls_ssl_read(&c->ssl, buf, sizeof(buf));
		if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == 0)
			return;
		if (ret < 0) {
			c->up = 0; /* reconnect before the next input */
			return;
		}
	}
}

/* Sends datagram buf from another loopback address straight into the demux. */
static void from_elsewhere(const uint8_t *buf, size_t len, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl = fz_emu_addr(2, port, &ss);
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, buf, len);
	emu_demux_dispatch(g_srv, copy, len, (struct sockaddr *)&ss, sl);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rec[4096];
	struct emu_session *s = the_session();
	size_t n;
	const char *kinds = getenv("FUZZ_SESSION_KINDS");
	if (size < 1 || size > 2048 || (kinds && !strchr(kinds, '0' + (data[0] & 3))))
		return 0;
	if (!g_cl.up || !s || s->state != EMU_SESS_OPEN) {
		cl_connect(&g_cl);
		s = the_session();
	}
	switch (data[0] & 3) {
	case 0:
		if (size > 1 && mbedtls_ssl_write(&g_cl.ssl, data + 1, size - 1) < 0)
			abort();
		break;
	case 1:
		n = cid_record(data + 1, size - 1, s, rec, sizeof(rec));
		if (n && send(g_cl.fd, rec, n, 0) < 0)
			abort();
		break;
	case 2:
		n = cid_record(data + 1, size - 1, s, rec, sizeof(rec));
		if (n)
			from_elsewhere(rec, n, (uint16_t)(40000 + data[0]));
		break;
	default:
		if (send(g_cl.fd, data + 1, size - 1, 0) < 0)
			abort();
		break;
	}
	fz_emu_pump(g_srv, 0);
	if (!the_session()) {
		fprintf(stderr, "fuzz_session: the session was lost to input of kind %d\n",
			data[0] & 3);
		__builtin_trap();
	}
	cl_drain(&g_cl);
	return 0;
}
