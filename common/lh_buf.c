/* Text appending for lh_buf.h: bounded, no allocation, no printf. */
#include "lh_buf.h"

#include <string.h>

void lh_buf_put(struct lh_buf *b, const char *s, size_t n)
{
	if (b->full || n > b->cap - b->len) {
		b->full = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void lh_buf_cstr(struct lh_buf *b, const char *s)
{
	lh_buf_put(b, s, strlen(s));
}

void lh_buf_char(struct lh_buf *b, char c)
{
	lh_buf_put(b, &c, 1);
}

void lh_buf_uint(struct lh_buf *b, uint64_t v, int width)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < (int)sizeof(tmp));
	while (n < width && n < (int)sizeof(tmp))
		tmp[sizeof(tmp) - 1 - n++] = '0';
	lh_buf_put(b, tmp + sizeof(tmp) - n, (size_t)n);
}

void lh_buf_int(struct lh_buf *b, int64_t v)
{
	if (v < 0) {
		lh_buf_char(b, '-');
		lh_buf_uint(b, (uint64_t)0 - (uint64_t)v, 0);
		return;
	}
	lh_buf_uint(b, (uint64_t)v, 0);
}

/* The escape for one byte that JSON does not allow raw ("\\u001f"). */
static void put_escape(struct lh_buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
	if (c == '"' || c == '\\') {
		esc[1] = (char)c;
		lh_buf_put(b, esc, 2);
		return;
	}
	lh_buf_put(b, esc, sizeof(esc));
}

void lh_buf_json_str(struct lh_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	lh_buf_char(b, '"');
	while (*p) {
		size_t run = 0;
		while (p[run] >= 0x20 && p[run] != '"' && p[run] != '\\' && p[run] < 0x80)
			run++;
		lh_buf_put(b, (const char *)p, run);
		p += run;
		if (!*p)
			break;
		if (*p >= 0x80) {
			b->nonascii = 1;
			lh_buf_char(b, (char)*p);
		} else {
			put_escape(b, *p);
		}
		p++;
	}
	lh_buf_char(b, '"');
}
