#ifndef LH_HEX_H
#define LH_HEX_H
#include <stddef.h>

/* Decodes hex (upper or lower case, even length, no separators) into out.
 * Returns the number of bytes written, or -1 when the text is not hex, has an
 * odd length, or does not fit in out_size. */
int lh_hex_decode(const char *hex, unsigned char *out, size_t out_size);
/* Encodes len bytes as lower-case hex into out (2*len+1 bytes). */
void lh_hex_encode(const unsigned char *in, size_t len, char *out);

#endif
