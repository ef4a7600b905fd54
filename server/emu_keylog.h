#ifndef EMU_KEYLOG_H
#define EMU_KEYLOG_H
#include <mbedtls/ssl.h>

/* NSS key-log export ("CLIENT_RANDOM <random> <master secret>"), so that
 * Wireshark can decrypt a capture. Off unless --keylog is given; opening it
 * prints a loud warning, because the file decrypts every session. */

/* Opens (appends to) path. Returns 0 or -1 with a message on stderr. */
int emu_keylog_open(const char *path);
void emu_keylog_close(void);
/* Writes one handshake's master secret (NSS key log format), if on. */
void emu_keylog_write(const unsigned char client_random[32], const unsigned char *secret,
		      size_t secret_len);

#endif
