/* layer_mbedtls_keylog.c: NSS key-log lines so Wireshark can decrypt a
 * capture (CLIENT_RANDOM <client random> <master secret>). */
#include "client_shim/layer_mbedtls.h"

#include <stdio.h>
#include <unistd.h>

#include "lh_file.h"

/* Writes n bytes as lower-case hex. */
static void put_hex(FILE *f, const unsigned char *p, size_t n)
{
	while (n--)
		fprintf(f, "%02x", *p++);
}

/* Mbed TLS key-export callback: appends one line per TLS 1.2 master secret. */
void layer_keylog_cb(void *ctx, mbedtls_ssl_key_export_type type, const unsigned char *secret,
		     size_t secret_len, const unsigned char client_random[32],
		     const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
	sl_socket_t *s = ctx;
	FILE *f;

	(void)server_random;
	(void)prf;
	if (type != MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET || !s->keylog_file)
		return;
	/* Session secrets: owner-only, never written through a planted link. */
	char why[256];
	int fd = lh_file_open_private(s->keylog_file, 1, why, sizeof(why));
	f = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	fputs("CLIENT_RANDOM ", f);
	put_hex(f, client_random, 32);
	fputc(' ', f);
	put_hex(f, secret, secret_len);
	fputc('\n', f);
	fclose(f);
}
