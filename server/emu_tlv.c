#include "emu_tlv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu_model.h"
#include "lh_hex.h"

#define EMU_TLV_DEPTH_MAX 3
#define EMU_TLV_HEX_MAX 64 /* bytes shown as value_hex */

static const char *const kinds[] = {"object_instance", "resource_instance", "multiple_resource",
				    "resource"};
enum { K_INSTANCE, K_RES_INSTANCE, K_MULTIPLE, K_RESOURCE };

/* What the enclosing levels (and the request path) say an entry's id
 * means: object, instance and resource ids, -1 when unknown. */
struct scope {
	const struct emu_models *models;
	int typed; /* a path was given: look models up */
	int32_t obj, inst, res;
};

/* Reads an n-byte big-endian number. */
static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* A 1/2/4/8-byte two's complement integer (TLV Integer and Time). */
static int64_t be_signed(const uint8_t *v, size_t len)
{
	uint64_t u = be(v, len);
	if (len < 8 && (v[0] & 0x80))
		u |= ~0ULL << (8 * len);
	return (int64_t)u;
}

/* TLV integers are 1, 2, 4 or 8 bytes (LwM2M 1.1 TS Core §7.4.3.2). */
static int int_len(size_t len)
{
	return len == 1 || len == 2 || len == 4 || len == 8;
}

/* A 4- or 8-byte IEEE 754 float as a double (TLV Float). */
static double be_float(const uint8_t *v, size_t len)
{
	if (len == 4) {
		uint32_t u = (uint32_t)be(v, 4);
		float f;
		memcpy(&f, &u, sizeof(f));
		return f;
	}
	uint64_t u = be(v, 8);
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

/* JSON has no NaN or infinity: those are shown as text. */
static json_t *float_json(double d)
{
	if (isnan(d))
		return json_string("nan");
	if (isinf(d))
		return json_string(d < 0 ? "-inf" : "inf");
	return json_real(d);
}

/* Seconds since the epoch as ISO 8601 UTC text, or NULL out of range. */
static json_t *utc_json(int64_t secs)
{
	struct tm tm;
	char buf[32];
	time_t t = (time_t)secs;
	if (secs < 0 || secs > 253402300799LL || !gmtime_r(&t, &tm))
		return NULL;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* Unsigned values above INT64_MAX do not fit a JSON integer here: text. */
static json_t *uint_json(uint64_t u)
{
	char buf[24];
	if (u <= INT64_MAX)
		return json_integer((json_int_t)u);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)u);
	return json_string(buf);
}

/* Printable ASCII only: a guess of "text" must not be binary noise. */
static int printable(const uint8_t *v, size_t len)
{
	int ok = len > 0;
	for (size_t i = 0; i < len; i++)
		ok &= v[i] >= 0x20 && v[i] < 0x7f;
	return ok;
}

/* An Objlnk is two 16-bit ids, shown "object:instance" as in SenML vlo. */
static json_t *objlnk_json(const uint8_t *v)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%u:%u", (unsigned)be(v, 2), (unsigned)be(v + 2, 2));
	return json_string(buf);
}

/* Without a model nothing says what the bytes are, so every reading that
 * fits them is offered; the reader knows the device. */
json_t *emu_tlv_guesses(const uint8_t *v, size_t len)
{
	json_t *g = json_object();
	if (int_len(len)) {
		int64_t n = be_signed(v, len);
		json_object_set_new(g, "int", json_integer(n));
		if (n < 0)
			json_object_set_new(g, "uint", uint_json(be(v, len)));
		if (n >= 946684800 && n < 4102444800LL) /* 2000..2100: maybe a Time */
			json_object_set_new(g, "time", utc_json(n));
	}
	if (len == 4 || len == 8)
		json_object_set_new(g, "float", float_json(be_float(v, len)));
	if (len == 1 && v[0] <= 1)
		json_object_set_new(g, "bool", json_boolean(v[0]));
	if (len == 4)
		json_object_set_new(g, "objlnk", objlnk_json(v));
	if (printable(v, len))
		json_object_set_new(g, "text", json_stringn((const char *)v, len));
	return g;
}

/* The readings earlier versions showed ("text", "int"), which scenarios
 * and scripts match on. */
static void add_legacy(json_t *o, const uint8_t *v, size_t len, int text, int num)
{
	if (text && printable(v, len))
		json_object_set_new(o, "text", json_stringn((const char *)v, len));
	if (num && int_len(len))
		json_object_set_new(o, "int", json_integer(be_signed(v, len)));
}

/* The value as the model's type says, or NULL with why it does not fit. */
static json_t *typed(int type, const uint8_t *v, size_t len, const char **why)
{
	switch (type) {
	case EMU_RT_STRING:
	case EMU_RT_CORELNK:
		*why = "not valid UTF-8";
		return json_stringn((const char *)v, len);
	case EMU_RT_INTEGER:
	case EMU_RT_TIME:
		*why = "an integer is 1, 2, 4 or 8 bytes";
		return int_len(len) ? json_integer(be_signed(v, len)) : NULL;
	case EMU_RT_UNSIGNED:
		*why = "an unsigned integer is 1, 2, 4 or 8 bytes";
		return int_len(len) ? uint_json(be(v, len)) : NULL;
	case EMU_RT_FLOAT:
		*why = "a float is 4 or 8 bytes";
		return len == 4 || len == 8 ? float_json(be_float(v, len)) : NULL;
	case EMU_RT_BOOLEAN:
		*why = "a boolean is one byte, 0 or 1";
		return len == 1 && v[0] <= 1 ? json_boolean(v[0]) : NULL;
	case EMU_RT_OBJLNK:
		*why = "an objlnk is 4 bytes";
		return len == 4 ? objlnk_json(v) : NULL;
	case EMU_RT_NONE:
		*why = "an executable resource has no value";
		return len == 0 ? json_null() : NULL;
	default:
		return NULL; /* opaque: value_hex is the value */
	}
}

/* Types a value by its resource model: "type", "value" (Time also "utc"),
 * or a "type_mismatch" note and the guesses when the bytes do not fit. */
static void add_typed(json_t *o, const struct emu_res_model *rm, const uint8_t *v, size_t len)
{
	const char *why = NULL;
	json_object_set_new(o, "type", json_string(emu_model_type_name(rm->type)));
	json_t *val = rm->type == EMU_RT_OPAQUE ? json_incref(json_object_get(o, "value_hex"))
						: typed(rm->type, v, len, &why);
	if (!val) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%s, got %zu bytes", why, len);
		json_object_set_new(o, "type_mismatch", json_string(msg));
		json_object_set_new(o, "guesses", emu_tlv_guesses(v, len));
		return;
	}
	json_object_set_new(o, "value", val);
	if (rm->type == EMU_RT_TIME)
		json_object_set_new(o, "utc", utc_json(json_integer_value(val)));
	add_legacy(o, v, len, rm->type == EMU_RT_STRING,
		   rm->type == EMU_RT_INTEGER || rm->type == EMU_RT_TIME ||
		       rm->type == EMU_RT_UNSIGNED);
}

/* "/3/0/13" -> the path segments; an id an entry does not know is -1. */
static void path_text(char *buf, size_t size, int32_t a, int32_t b, int32_t c, int32_t d)
{
	int32_t seg[4] = {a, b, c, d};
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < 4 && seg[i] >= 0 && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "/%d", (int)seg[i]);
}

/* The resource an entry (or its enclosing multiple resource) is. */
static const struct emu_res_model *entry_res(const struct scope *sc, int kind, uint16_t id)
{
	const struct emu_obj_model *om =
	    sc->typed && sc->obj >= 0 ? emu_model_object(sc->models, (uint32_t)sc->obj) : NULL;
	int32_t res = kind == K_RES_INSTANCE ? sc->res : id;
	return om && res >= 0 ? emu_model_resource(om, (uint32_t)res) : NULL;
}

/* Names an entry: its full path when the enclosing levels know it, the
 * object's or resource's name from the model, or a note that the model
 * lacks this resource. */
static void add_names(json_t *o, const struct scope *sc, int kind, uint16_t id,
		      const struct emu_res_model *rm)
{
	char path[64];
	const struct emu_obj_model *om =
	    sc->typed && sc->obj >= 0 ? emu_model_object(sc->models, (uint32_t)sc->obj) : NULL;
	if (kind == K_INSTANCE)
		path_text(path, sizeof(path), sc->obj, id, -1, -1);
	else if (kind == K_RES_INSTANCE)
		path_text(path, sizeof(path), sc->obj, sc->inst, sc->res, sc->inst < 0 ? -1 : id);
	else
		path_text(path, sizeof(path), sc->obj, sc->inst, sc->inst < 0 ? -1 : id, -1);
	if (sc->typed && path[0] && strchr(path + 1, '/'))
		json_object_set_new(o, "path", json_string(path));
	if (kind == K_INSTANCE && om)
		json_object_set_new(o, "name", json_string(om->name));
	else if (rm)
		json_object_set_new(o, "name", json_string(rm->name));
	else if (om)
		json_object_set_new(o, "model",
				    json_sprintf("object %u (%s) has no resource %d",
						 (unsigned)om->id, om->name,
						 kind == K_RES_INSTANCE ? sc->res : id));
}

/* The value of a resource or resource instance: hex always, then typed by
 * the model, or the guesses (and the old readings) without one. */
static void add_value(json_t *o, const struct emu_res_model *rm, const uint8_t *v, size_t vlen)
{
	char hex[2 * EMU_TLV_HEX_MAX + 1];
	size_t shown = vlen < EMU_TLV_HEX_MAX ? vlen : EMU_TLV_HEX_MAX;
	lh_hex_encode(v, shown, hex);
	json_object_set_new(o, "value_hex", json_string(hex));
	if (shown < vlen)
		json_object_set_new(o, "truncated_from", json_integer((json_int_t)vlen));
	if (rm) {
		add_typed(o, rm, v, vlen);
		return;
	}
	add_legacy(o, v, vlen, 1, 1);
	json_object_set_new(o, "guesses", emu_tlv_guesses(v, vlen));
}

/* Forward: entries nest (instance > resource > resource instance). */
static json_t *decode(const uint8_t *buf, size_t len, size_t base, int depth,
		      const struct scope *sc, char *err, size_t err_size);

/* The scope of an entry's children: an instance fixes the instance id, a
 * multiple resource the resource id. */
static struct scope inner_scope(const struct scope *sc, int kind, uint16_t id)
{
	struct scope in = *sc;
	if (kind == K_INSTANCE) {
		in.inst = id;
		in.res = -1;
	} else {
		in.res = id;
	}
	return in;
}

/* One TLV entry at p; *used gets its total size. NULL on error. */
static json_t *entry(const uint8_t *p, size_t left, size_t at, int depth, const struct scope *sc,
		     size_t *used, char *err, size_t err_size)
{
	size_t id_len = (p[0] & 0x20) ? 2 : 1, len_len = (p[0] >> 3) & 3;
	size_t hdr = 1 + id_len + len_len;
	if (left < hdr) {
		snprintf(err, err_size, "TLV header truncated at offset %zu", at);
		return NULL;
	}
	size_t vlen = len_len ? (size_t)be(p + 1 + id_len, len_len) : (size_t)(p[0] & 7);
	if (left - hdr < vlen) {
		snprintf(err, err_size, "TLV value at offset %zu claims %zu bytes, %zu left", at,
			 vlen, left - hdr);
		return NULL;
	}
	int kind = p[0] >> 6;
	uint16_t id = (uint16_t)be(p + 1, id_len);
	const struct emu_res_model *rm = kind == K_INSTANCE ? NULL : entry_res(sc, kind, id);
	json_t *o = json_pack("{s:s, s:i}", "kind", kinds[kind], "id", (int)id);
	*used = hdr + vlen;
	add_names(o, sc, kind, id, rm);
	if (kind == K_INSTANCE || kind == K_MULTIPLE) {
		struct scope in = inner_scope(sc, kind, id);
		json_t *kids = decode(p + hdr, vlen, at + hdr, depth + 1, &in, err, err_size);
		if (!kids) {
			json_decref(o);
			return NULL;
		}
		if (rm)
			json_object_set_new(o, "type", json_string(emu_model_type_name(rm->type)));
		json_object_set_new(o, "children", kids);
		return o;
	}
	add_value(o, rm, p + hdr, vlen);
	return o;
}

/* Decodes a sequence of entries. */
static json_t *decode(const uint8_t *buf, size_t len, size_t base, int depth,
		      const struct scope *sc, char *err, size_t err_size)
{
	json_t *arr = json_array();
	if (depth > EMU_TLV_DEPTH_MAX) {
		snprintf(err, err_size, "TLV nested deeper than %d at offset %zu",
			 EMU_TLV_DEPTH_MAX, base);
		goto err;
	}
	for (size_t off = 0; off < len;) {
		size_t used = 0;
		json_t *o =
		    entry(buf + off, len - off, base + off, depth, sc, &used, err, err_size);
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

/* "/3/0/13" into the scope's ids; anything else (no path, a query, an
 * id over 65535) leaves the scope untyped rather than guessing wrong. */
static void scope_from_path(struct scope *sc, const char *path)
{
	int32_t seg[4] = {-1, -1, -1, -1};
	int n = 0;
	const char *p = path;
	while (p && *p == '/' && p[1] && n < 4) {
		char *end;
		long v = strtol(p + 1, &end, 10);
		if (end == p + 1 || v < 0 || v > 65535 || (*end && *end != '/'))
			return;
		seg[n++] = (int32_t)v;
		p = end;
	}
	if (n == 0 || (p && *p))
		return;
	sc->typed = 1;
	sc->obj = seg[0];
	sc->inst = seg[1];
	sc->res = seg[2];
}

/* The request path sets the outermost scope; entries refine it. */
json_t *emu_tlv_decode_model(const uint8_t *buf, size_t len, const struct emu_models *models,
			     const char *path, char *err, size_t err_size)
{
	struct scope sc = {.models = models, .typed = 0, .obj = -1, .inst = -1, .res = -1};
	scope_from_path(&sc, path);
	return decode(buf, len, 0, 0, &sc, err, err_size);
}

/* No path, no model: the untyped form with guesses (fuzz_tlv, tests). */
json_t *emu_tlv_decode(const uint8_t *buf, size_t len, char *err, size_t err_size)
{
	return emu_tlv_decode_model(buf, len, NULL, NULL, err, err_size);
}
