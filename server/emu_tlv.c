#include "emu_tlv.h"

#include <stdio.h>

#include "lh_hex.h"

#define EMU_TLV_DEPTH_MAX 3

static const char *const kinds[] = {"object_instance", "resource_instance", "multiple_resource",
				    "resource"};

/* Reads an n-byte big-endian number. */
static uint32_t be(const uint8_t *p, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Adds text and integer readings of a value next to its hex. */
static void add_readings(json_t *o, const uint8_t *v, size_t len)
{
	int printable = len > 0;
	for (size_t i = 0; i < len; i++)
		printable &= v[i] >= 0x20 && v[i] < 0x7f;
	if (printable)
		json_object_set_new(o, "text", json_stringn((const char *)v, len));
	if (len == 1 || len == 2 || len == 4 || len == 8) {
		int64_t n = (v[0] & 0x80) ? -1 : 0;
		for (size_t i = 0; i < len; i++)
			n = (int64_t)((uint64_t)n << 8 | v[i]);
		json_object_set_new(o, "int", json_integer(n));
	}
}

static json_t *decode(const uint8_t *buf, size_t len, size_t base, int depth, char *err,
		      size_t err_size);

/* One TLV entry at p; *used gets its total size. NULL on error. */
static json_t *entry(const uint8_t *p, size_t left, size_t at, int depth, size_t *used, char *err,
		     size_t err_size)
{
	size_t id_len = (p[0] & 0x20) ? 2 : 1, len_len = (p[0] >> 3) & 3;
	size_t hdr = 1 + id_len + len_len;
	if (left < hdr) {
		snprintf(err, err_size, "TLV header truncated at offset %zu", at);
		return NULL;
	}
	size_t vlen = len_len ? be(p + 1 + id_len, len_len) : (size_t)(p[0] & 7);
	if (left - hdr < vlen) {
		snprintf(err, err_size, "TLV value at offset %zu claims %zu bytes, %zu left", at,
			 vlen, left - hdr);
		return NULL;
	}
	int kind = p[0] >> 6;
	const uint8_t *v = p + hdr;
	json_t *o = json_pack("{s:s, s:i}", "kind", kinds[kind], "id", (int)be(p + 1, id_len));
	*used = hdr + vlen;
	if (kind == 0 || kind == 2) {
		json_t *kids = decode(v, vlen, at + hdr, depth + 1, err, err_size);
		if (!kids) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, "children", kids);
		return o;
	}
	char hex[2 * 64 + 1];
	size_t shown = vlen < 64 ? vlen : 64;
	lh_hex_encode(v, shown, hex);
	json_object_set_new(o, "value_hex", json_string(hex));
	if (shown < vlen)
		json_object_set_new(o, "truncated_from", json_integer((json_int_t)vlen));
	add_readings(o, v, vlen);
	return o;
}

/* Decodes a sequence of entries. */
static json_t *decode(const uint8_t *buf, size_t len, size_t base, int depth, char *err,
		      size_t err_size)
{
	json_t *arr = json_array();
	if (depth > EMU_TLV_DEPTH_MAX) {
		snprintf(err, err_size, "TLV nested deeper than %d at offset %zu",
			 EMU_TLV_DEPTH_MAX, base);
		goto err;
	}
	for (size_t off = 0; off < len;) {
		size_t used = 0;
		json_t *o = entry(buf + off, len - off, base + off, depth, &used, err, err_size);
		if (!o)
			goto err;
		json_array_append_new(arr, o);
		off += used;
	}
	return arr;
err:
	json_decref(arr);
	return NULL;
}

json_t *emu_tlv_decode(const uint8_t *buf, size_t len, char *err, size_t err_size)
{
	return decode(buf, len, 0, 0, err, err_size);
}
