#ifndef LH_BUF_H
#define LH_BUF_H
#include <stddef.h>
#include <stdint.h>

/* Appending text to a fixed buffer without printf (lh_buf.c): the event
 * lines of the hot path are built with it. A write that does not fit sets
 * full and is dropped; the caller checks full once at the end. */
struct lh_buf {
	char *p;
	size_t len, cap;
	int full;     /* something did not fit */
	int nonascii; /* a JSON string had a byte >= 0x80 (not checked as UTF-8) */
};

static inline void lh_buf_init(struct lh_buf *b, char *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = cap;
	b->full = 0;
	b->nonascii = 0;
}

void lh_buf_put(struct lh_buf *b, const char *s, size_t n);
void lh_buf_cstr(struct lh_buf *b, const char *s);
void lh_buf_char(struct lh_buf *b, char c);
/* Decimal, at least width digits (zero padded). */
void lh_buf_uint(struct lh_buf *b, uint64_t v, int width);
void lh_buf_int(struct lh_buf *b, int64_t v);
/* A JSON string: quoted, with '"', '\\' and control bytes escaped. */
void lh_buf_json_str(struct lh_buf *b, const char *s);

#endif
