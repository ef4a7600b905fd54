/* fl_fmt: the fleet device's values in the formats servers ask for (see
 * fl_fmt.h). Written by hand, like bl_coap.c, so that the generator shares
 * no encoder with the emulator whose decoders it exercises. */
#include "fl_fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_IDS 4
#define TLV_INSTANCE 0u
#define TLV_RES_INSTANCE 1u
#define TLV_RESOURCE 3u

struct out {
	uint8_t *p;
	size_t len, size;
	int overflow;
};

/* Appends n bytes; an overflow is remembered and reported once. */
static void put(struct out *o, const void *data, size_t n)
{
	if (o->overflow || o->size - o->len < n) {
		o->overflow = 1;
		return;
	}
	memcpy(o->p + o->len, data, n);
	o->len += n;
}

/* See fl_fmt.h. */
int fl_fmt_path(const char *path, unsigned ids[PATH_MAX_IDS])
{
	int n = 0;
	while (*path == '/') {
		char *end;
		unsigned long v;
		if (n == PATH_MAX_IDS || path[1] < '0' || path[1] > '9')
			return -1;
		v = strtoul(path + 1, &end, 10);
		if (v > 65535 || (*end && *end != '/'))
			return -1;
		ids[n++] = (unsigned)v;
		path = end;
	}
	return *path || n == 0 ? -1 : n;
}

/* See fl_fmt.h. */
int fl_fmt_choose(int32_t accept, const char *path)
{
	unsigned ids[PATH_MAX_IDS];
	int n = fl_fmt_path(path, ids);
	if (n < 0)
		return FL_FMT_BAD_PATH;
	switch (accept) {
	case FL_FMT_NONE:
		return n >= 3 ? FL_FMT_TEXT : FL_FMT_TLV;
	case FL_FMT_TEXT:
		return n >= 3 ? FL_FMT_TEXT : FL_FMT_NOT_ACCEPTABLE; /* one resource's value */
	case FL_FMT_TLV:
	case FL_FMT_SENML_JSON:
	case FL_FMT_SENML_CBOR:
	case FL_FMT_LINK:
		return accept;
	}
	return FL_FMT_NOT_ACCEPTABLE;
}

/* One TLV (OMA LwM2M 1.0 TS §6.4.3): type, 8- or 16-bit id, length. */
static void tlv_put(struct out *o, unsigned type, unsigned id, const void *v, size_t len)
{
	uint8_t h[6];
	size_t n = 1;
	if (len > 65535) {
		o->overflow = 1; /* values here are far shorter */
		return;
	}
	h[0] = (uint8_t)(type << 6 | (id > 255 ? 0x20 : 0));
	if (id > 255)
		h[n++] = (uint8_t)(id >> 8);
	h[n++] = (uint8_t)id;
	if (len < 8) {
		h[0] |= (uint8_t)len;
	} else if (len < 256) {
		h[0] |= 0x08;
		h[n++] = (uint8_t)len;
	} else {
		h[0] |= 0x10;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	}
	put(o, h, n);
	put(o, v, len);
}

/* Read in TLV: a resource (instance) TLV; an instance's resources; an
 * object's instance TLVs (the shapes of LwM2M 1.0 TS §6.4.3.1). */
static void tlv_value(struct out *o, const unsigned *ids, int n, const char *value)
{
	uint8_t inner[128];
	struct out res = {.p = inner, .size = sizeof(inner)};
	size_t vlen = strlen(value);
	if (n == 4) {
		tlv_put(o, TLV_RES_INSTANCE, ids[3], value, vlen);
		return;
	}
	if (n >= 2) {
		tlv_put(o, TLV_RESOURCE, n == 3 ? ids[2] : 0, value, vlen);
		return;
	}
	tlv_put(&res, TLV_RESOURCE, 0, value, vlen);
	o->overflow |= res.overflow;
	tlv_put(o, TLV_INSTANCE, 0, inner, res.len);
}

/* The full name of the one value at path: "/O/0/0", "/O/I/0" or path. */
static void value_name(char *name, size_t size, const unsigned *ids, int n)
{
	if (n == 1)
		snprintf(name, size, "/%u/0/0", ids[0]);
	else if (n == 2)
		snprintf(name, size, "/%u/%u/0", ids[0], ids[1]);
	else if (n == 3)
		snprintf(name, size, "/%u/%u/%u", ids[0], ids[1], ids[2]);
	else
		snprintf(name, size, "/%u/%u/%u/%u", ids[0], ids[1], ids[2], ids[3]);
}

/* A CBOR text string head (RFC 8949 §3.1, major type 3) and its bytes. */
static void cbor_text(struct out *o, const char *s)
{
	size_t len = strlen(s);
	uint8_t h[2] = {(uint8_t)(0x60 | len), 0};
	if (len > 255) {
		o->overflow = 1; /* names and values here are far shorter */
		return;
	}
	if (len < 24) {
		put(o, h, 1);
	} else {
		h[0] = 0x78;
		h[1] = (uint8_t)len;
		put(o, h, 2);
	}
	put(o, s, len);
}

/* SenML (RFC 8428) with one record: name and string value. In CBOR the
 * labels are the integers of RFC 8428 §6 (n = 0, vs = 3). */
static void senml_value(struct out *o, int cbor, const unsigned *ids, int n, const char *value)
{
	char name[48], json[160];
	value_name(name, sizeof(name), ids, n);
	if (cbor) {
		put(o, "\x81\xa2\x00", 3); /* array(1), map(2), label n */
		cbor_text(o, name);
		put(o, "\x03", 1); /* label vs */
		cbor_text(o, value);
		return;
	}
	int len = snprintf(json, sizeof(json), "[{\"n\":\"%s\",\"vs\":\"%s\"}]", name, value);
	if (len < 0 || (size_t)len >= sizeof(json))
		o->overflow = 1;
	else
		put(o, json, (size_t)len);
}

/* Discover (link-format, RFC 6690): the path and what it holds. */
static void links(struct out *o, const unsigned *ids, int n)
{
	char text[96];
	int len;
	if (n == 1)
		len =
		    snprintf(text, sizeof(text), "</%u>,</%u/0>,</%u/0/0>", ids[0], ids[0], ids[0]);
	else if (n == 2)
		len = snprintf(text, sizeof(text), "</%u/%u>,</%u/%u/0>", ids[0], ids[1], ids[0],
			       ids[1]);
	else {
		char name[48];
		value_name(name, sizeof(name), ids, n);
		len = snprintf(text, sizeof(text), "<%s>", name);
	}
	if (len < 0 || (size_t)len >= sizeof(text))
		o->overflow = 1;
	else
		put(o, text, (size_t)len);
}

/* See fl_fmt.h. */
size_t fl_fmt_encode(int cf, const char *path, const char *value, uint8_t *buf, size_t size)
{
	unsigned ids[PATH_MAX_IDS];
	struct out o = {.p = buf, .size = size};
	int n = fl_fmt_path(path, ids);
	if (n < 0)
		return 0;
	if (cf == FL_FMT_TEXT)
		put(&o, value, strlen(value));
	else if (cf == FL_FMT_TLV)
		tlv_value(&o, ids, n, value);
	else if (cf == FL_FMT_SENML_JSON || cf == FL_FMT_SENML_CBOR)
		senml_value(&o, cf == FL_FMT_SENML_CBOR, ids, n, value);
	else if (cf == FL_FMT_LINK)
		links(&o, ids, n);
	else
		return 0;
	return o.overflow ? 0 : o.len;
}
