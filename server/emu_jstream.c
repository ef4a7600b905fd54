/* Streaming one array member of a JSON object file; see emu_jstream.h. */
#include "emu_jstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSTREAM_FLAGS (JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY)

/* The reader's position in the file's bytes. */
struct jstream {
	const char *buf;
	size_t len, pos;
	emu_jstream_fn each;
	void *ctx;
	int failed; /* each returned < 0: no more calls */
};

/* The whole file in memory (a FIFO too, which cannot be mapped): NULL on
 * any error, which json_load_file then names. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0, got;
	char *buf = NULL, *grown;
	if (!f)
		return NULL;
	while ((grown = realloc(buf, cap)) != NULL) {
		buf = grown;
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		cap *= 2;
	}
	if (!grown || ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Skips JSON whitespace (RFC 8259: space, tab, LF, CR, as jansson). */
static void skip_ws(struct jstream *s)
{
	while (s->pos < s->len && strchr(" \t\n\r", s->buf[s->pos]) && s->buf[s->pos])
		s->pos++;
}

/* The next byte after whitespace, consumed when it is c. */
static int accept(struct jstream *s, char c)
{
	skip_ws(s);
	if (s->pos < s->len && s->buf[s->pos] == c) {
		s->pos++;
		return 1;
	}
	return 0;
}

/* One JSON value at the position, parsed by jansson; NULL on an error. */
static json_t *value(struct jstream *s)
{
	json_error_t e;
	json_t *v;
	skip_ws(s);
	v = json_loadb(s->buf + s->pos, s->len - s->pos, JSTREAM_FLAGS, &e);
	if (v)
		s->pos += (size_t)e.position;
	return v;
}

/* The streamed array: each element parsed, handed over, freed. */
static int stream_array(struct jstream *s)
{
	size_t i = 0;
	if (accept(s, ']'))
		return 0;
	do {
		json_t *item = value(s);
		if (!item)
			return -1;
		if (!s->failed && s->each(s->ctx, i, item) < 0)
			s->failed = 1;
		json_decref(item);
		i++;
	} while (accept(s, ','));
	return accept(s, ']') ? 0 : -1;
}

/* One "name": value member into root, or the streamed member. */
static int member(struct jstream *s, const char *key, json_t *root, int *streamed)
{
	json_t *name = value(s), *v;
	int ret = -1;
	if (!json_is_string(name) || !accept(s, ':'))
		goto exit;
	const char *n = json_string_value(name);
	if (json_object_get(root, n) || (*streamed && strcmp(n, key) == 0))
		goto exit; /* a duplicate: jansson's error names it */
	if (strcmp(n, key) == 0 && accept(s, '[')) {
		*streamed = 1;
		ret = stream_array(s);
		goto exit;
	}
	v = value(s);
	if (v)
		ret = json_object_set_new(root, n, v);
exit:
	json_decref(name);
	return ret;
}

/* The top-level object; 0, or -1 at the first thing that is not valid. */
static int object(struct jstream *s, const char *key, json_t *root)
{
	int streamed = 0;
	if (!accept(s, '{'))
		return -1;
	if (!accept(s, '}')) {
		do {
			if (member(s, key, root, &streamed) < 0)
				return -1;
		} while (accept(s, ','));
		if (!accept(s, '}'))
			return -1;
	}
	skip_ws(s);
	return s->pos == s->len ? 0 : -1;
}

/* After the reader refused the file: jansson's verdict and message on the
 * same bytes. A document that is valid but no object goes back whole (the
 * caller's checks say "expected an object"); should jansson accept an
 * object this reader refused (never seen: values, strings and duplicates
 * are jansson's), that is said, not papered over. */
static enum emu_jstream_status fallback(const char *path, const struct jstream *s, json_t **root,
					json_error_t *jerr)
{
	json_t *whole = s->buf ? json_loadb(s->buf, s->len, JSON_REJECT_DUPLICATES, jerr)
			       : json_load_file(path, JSON_REJECT_DUPLICATES, jerr);
	if (!whole)
		return EMU_JSTREAM_SYNTAX;
	if (!json_is_object(whole)) {
		*root = whole;
		return EMU_JSTREAM_OK;
	}
	snprintf(jerr->text, sizeof(jerr->text),
		 "the streaming reader stopped at byte %zu, jansson did not (please report)",
		 s->pos);
	jerr->line = jerr->column = -1;
	json_decref(whole);
	return EMU_JSTREAM_SYNTAX;
}

enum emu_jstream_status emu_jstream_load(const char *path, const char *key, emu_jstream_fn each,
					 void *ctx, json_t **root, json_error_t *jerr)
{
	struct jstream s = {.each = each, .ctx = ctx};
	enum emu_jstream_status status;
	char *buf = read_all(path, &s.len);
	json_t *obj = json_object();
	s.buf = buf;
	*root = NULL;
	/* jansson drops a NUL byte after a number and refuses one elsewhere;
	 * such a file is broken anyway, so it gets jansson's whole verdict
	 * (its tree, $.psk and all, or its error), exactly as before. */
	if (buf && memchr(buf, '\0', s.len)) {
		*root = json_loadb(buf, s.len, JSON_REJECT_DUPLICATES, jerr);
		status = *root ? EMU_JSTREAM_OK : EMU_JSTREAM_SYNTAX;
	} else if (buf && obj && object(&s, key, obj) == 0) {
		status = s.failed ? EMU_JSTREAM_CALLBACK : EMU_JSTREAM_OK;
		if (status == EMU_JSTREAM_OK) {
			*root = obj;
			obj = NULL;
		}
	} else {
		status = fallback(path, &s, root, jerr);
	}
	json_decref(obj);
	free(buf);
	return status;
}
