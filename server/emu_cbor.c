/* SenML CBOR and LwM2M CBOR on libcbor (see emu_cbor.h). */
#include "emu_cbor.h"

#include <cbor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_senml.h"
#include "lh_hex.h"

#define EMU_CBOR_PATH_MAX 128

/* RFC 8428 Table 4: SenML CBOR's integer labels, as SenML JSON names. */
static const char *senml_label(int64_t label)
{
	static const struct {
		int64_t label;
		const char *name;
	} labels[] = {{-1, "bver"}, {-2, "bn"}, {-3, "bt"}, {-4, "bu"}, {-5, "bv"},
		      {-6, "bs"},   {0, "n"},	{1, "u"},   {2, "v"},	{3, "vs"},
		      {4, "vb"},    {5, "s"},	{6, "t"},   {7, "ut"},	{8, "vd"}};
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (labels[i].label == label)
			return labels[i].name;
	return NULL;
}

/* An integer item's value (uint or negint); 0 when it is neither. */
static int int_value(const cbor_item_t *it, int64_t *out)
{
	if (cbor_isa_uint(it) && cbor_get_int(it) <= INT64_MAX) {
		*out = (int64_t)cbor_get_int(it);
		return 1;
	}
	if (cbor_isa_negint(it) && cbor_get_int(it) < INT64_MAX) {
		*out = -1 - (int64_t)cbor_get_int(it);
		return 1;
	}
	return 0;
}

/* A text or byte string's bytes, joined when it came in chunks. */
static unsigned char *string_bytes(const cbor_item_t *it, size_t *len)
{
	int text = cbor_isa_string(it);
	if (text ? cbor_string_is_definite(it) : cbor_bytestring_is_definite(it)) {
		*len = text ? cbor_string_length(it) : cbor_bytestring_length(it);
		unsigned char *copy = malloc(*len + 1);
		if (copy && *len)
			memcpy(copy, text ? cbor_string_handle(it) : cbor_bytestring_handle(it),
			       *len);
		return copy;
	}
	size_t n = text ? cbor_string_chunk_count(it) : cbor_bytestring_chunk_count(it);
	cbor_item_t **chunks =
	    text ? cbor_string_chunks_handle(it) : cbor_bytestring_chunks_handle(it);
	unsigned char *buf = NULL;
	*len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l;
		unsigned char *part = string_bytes(chunks[i], &l), *grown;
		grown = part ? realloc(buf, *len + l + 1) : NULL;
		if (!grown) {
			free(part);
			free(buf);
			return NULL;
		}
		buf = grown;
		memcpy(buf + *len, part, l);
		*len += l;
		free(part);
	}
	return buf ? buf : malloc(1);
}

/* A string item as JSON: text as text (valid UTF-8 only), bytes as hex. */
static json_t *string_json(const cbor_item_t *it, char *err, size_t err_size)
{
	size_t len;
	unsigned char *b = string_bytes(it, &len);
	json_t *v = NULL;
	if (b && cbor_isa_string(it)) {
		v = json_stringn((const char *)b, len);
		if (!v)
			snprintf(err, err_size, "text string is not valid UTF-8");
	} else if (b) {
		char *hex = malloc(2 * len + 1);
		if (hex) {
			lh_hex_encode(b, len, hex);
			v = json_string(hex);
		}
		free(hex);
	}
	free(b);
	return v;
}

static json_t *to_json(const cbor_item_t *it, int depth, int senml, char *err, size_t err_size);

/* A map key as a JSON object key: text, or an integer (a SenML label when
 * senml). NULL with err otherwise. */
static char *key_text(const cbor_item_t *k, int senml, char *err, size_t err_size)
{
	int64_t v;
	char buf[32];
	size_t len;
	if (cbor_isa_string(k)) {
		unsigned char *b = string_bytes(k, &len);
		if (b)
			b[len] = '\0';
		if (b && strlen((char *)b) == len)
			return (char *)b;
		free(b);
	} else if (int_value(k, &v)) {
		const char *name = senml ? senml_label(v) : NULL;
		snprintf(buf, sizeof(buf), "%lld", (long long)v);
		return strdup(name ? name : buf);
	}
	snprintf(err, err_size, "map key: expected a text string or an integer");
	return NULL;
}

/* A map as a JSON object. */
static json_t *map_json(const cbor_item_t *it, int depth, int senml, char *err, size_t err_size)
{
	struct cbor_pair *pairs = cbor_map_handle(it);
	json_t *obj = json_object();
	for (size_t i = 0; obj && i < cbor_map_size(it); i++) {
		char *key = key_text(pairs[i].key, senml, err, err_size);
		json_t *v = key ? to_json(pairs[i].value, depth + 1, senml, err, err_size) : NULL;
		if (!v || json_object_set_new(obj, key, v) < 0) {
			json_decref(obj);
			obj = NULL;
		}
		free(key);
	}
	return obj;
}

/* A float or simple value (true, false, null, undefined). */
static json_t *float_ctrl_json(const cbor_item_t *it)
{
	if (!cbor_float_ctrl_is_ctrl(it))
		return json_real(cbor_float_get_float(it));
	if (cbor_is_bool(it))
		return json_boolean(cbor_get_bool(it));
	return json_null();
}

/* Any item as JSON, nesting bounded by EMU_CBOR_DEPTH_MAX. */
static json_t *to_json(const cbor_item_t *it, int depth, int senml, char *err, size_t err_size)
{
	int64_t v;
	if (depth > EMU_CBOR_DEPTH_MAX) {
		snprintf(err, err_size, "nested deeper than %d", EMU_CBOR_DEPTH_MAX);
		return NULL;
	}
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT:
	case CBOR_TYPE_NEGINT:
		return int_value(it, &v) ? json_integer(v) : json_real((double)cbor_get_int(it));
	case CBOR_TYPE_BYTESTRING:
	case CBOR_TYPE_STRING:
		return string_json(it, err, err_size);
	case CBOR_TYPE_ARRAY: {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < cbor_array_size(it); i++) {
			json_t *e =
			    to_json(cbor_array_handle(it)[i], depth + 1, senml, err, err_size);
			if (!e || json_array_append_new(arr, e) < 0) {
				json_decref(arr);
				arr = NULL;
			}
		}
		return arr;
	}
	case CBOR_TYPE_MAP:
		return map_json(it, depth, senml, err, err_size);
	case CBOR_TYPE_TAG: {
		cbor_item_t *inner = cbor_tag_item(it);
		json_t *j = to_json(inner, depth + 1, senml, err, err_size);
		cbor_decref(&inner);
		return j;
	}
	default:
		return float_ctrl_json(it);
	}
}

/* Reads an item's head at *pos: major type, and its argument (-1 in *arg
 * when indefinite). -1 when truncated or reserved. */
static int head(const uint8_t *d, size_t len, size_t *pos, int *major, int64_t *arg)
{
	static const size_t extra[] = {1, 2, 4, 8};
	if (*pos >= len)
		return -1;
	int info = d[*pos] & 31;
	*major = d[(*pos)++] >> 5;
	*arg = info < 24 ? info : -1;
	if (info >= 24 && info <= 27) {
		size_t n = extra[info - 24];
		uint64_t v = 0;
		if (len - *pos < n)
			return -1;
		for (size_t i = 0; i < n; i++)
			v = v << 8 | d[(*pos)++];
		*arg = v > INT64_MAX ? INT64_MAX : (int64_t)v;
	} else if (info >= 28 && info <= 30) {
		return -1;
	}
	return info == 31 && (*major < 2 || *major == 6) ? -1 : 0;
}

/* Walks one item without building it: every declared length must fit in
 * the bytes left (an element takes at least one byte), so a few bytes
 * cannot make libcbor allocate gigabytes; nesting is bounded. */
static int precheck(const uint8_t *d, size_t len, size_t *pos, int depth)
{
	int major;
	int64_t arg;
	if (depth > EMU_CBOR_DEPTH_MAX || head(d, len, pos, &major, &arg) < 0)
		return -1;
	if (major == 7 || major < 2)
		return arg < 0 && major == 7 ? -1 : 0; /* a lone break is malformed */
	if (major == 6)
		return precheck(d, len, pos, depth + 1);
	if (arg < 0) { /* indefinite: items until the break */
		while (*pos < len && d[*pos] != 0xff)
			if (precheck(d, len, pos, depth + 1) < 0)
				return -1;
		if (*pos >= len)
			return -1;
		(*pos)++; /* the break */
		return 0;
	}
	uint64_t items = (uint64_t)arg * (major == 5 ? 2 : 1);
	if ((uint64_t)arg > len - *pos || items > len - *pos)
		return -1;
	if (major <= 3) {
		*pos += (size_t)arg;
		return 0;
	}
	for (uint64_t i = 0; i < items; i++)
		if (precheck(d, len, pos, depth + 1) < 0)
			return -1;
	return 0;
}

/* Parses the whole buffer as one CBOR item; NULL with err. */
static cbor_item_t *load(const uint8_t *data, size_t len, char *err, size_t err_size)
{
	struct cbor_load_result res;
	size_t pos = 0;
	if (len && precheck(data, len, &pos, 0) < 0) {
		snprintf(err, err_size,
			 "not CBOR (truncated, malformed, a length beyond the data, or nested "
			 "deeper than %d)",
			 EMU_CBOR_DEPTH_MAX);
		return NULL;
	}
	cbor_item_t *it = len ? cbor_load(data, len, &res) : NULL;
	if (!it) {
		snprintf(err, err_size, "not CBOR (%s at byte %zu)",
			 len == 0				    ? "empty"
			 : res.error.code == CBOR_ERR_NOTENOUGHDATA ? "truncated"
								    : "malformed",
			 len ? res.error.position : 0);
		return NULL;
	}
	if (res.read != len) {
		snprintf(err, err_size, "%zu bytes after the CBOR item", len - res.read);
		cbor_decref(&it);
		return NULL;
	}
	return it;
}

json_t *emu_cbor_senml_decode(const uint8_t *data, size_t len, char *err, size_t err_size)
{
	cbor_item_t *it = load(data, len, err, err_size);
	json_t *doc = it ? to_json(it, 0, 1, err, err_size) : NULL;
	json_t *out = doc ? emu_senml_resolve(doc, err, err_size) : NULL;
	if (it)
		cbor_decref(&it);
	json_decref(doc);
	return out;
}

/* Appends the path segments a LwM2M CBOR key names to path. */
static int key_path(const cbor_item_t *k, char *path, size_t size, char *err, size_t err_size)
{
	int64_t v;
	size_t n = cbor_isa_array(k) ? cbor_array_size(k) : 1;
	for (size_t i = 0; i < n; i++) {
		const cbor_item_t *seg = cbor_isa_array(k) ? cbor_array_handle(k)[i] : k;
		size_t used = strlen(path);
		if (!int_value(seg, &v) || v < 0 || v > 65535 ||
		    snprintf(path + used, size - used, "/%lld", (long long)v) >=
			(int)(size - used)) {
			snprintf(err, err_size,
				 "LwM2M CBOR key: expected a path segment 0..65535 "
				 "or an array of them (path at most %d bytes)",
				 EMU_CBOR_PATH_MAX);
			return -1;
		}
	}
	return 0;
}

/* Walks a LwM2M CBOR map: nested maps extend the path, leaves are records. */
static int flatten(const cbor_item_t *m, const char *prefix, int depth, json_t *out, char *err,
		   size_t err_size)
{
	struct cbor_pair *pairs = cbor_map_handle(m);
	if (depth > EMU_CBOR_DEPTH_MAX) {
		snprintf(err, err_size, "nested deeper than %d", EMU_CBOR_DEPTH_MAX);
		return -1;
	}
	for (size_t i = 0; i < cbor_map_size(m); i++) {
		char path[EMU_CBOR_PATH_MAX + 1];
		snprintf(path, sizeof(path), "%s", prefix);
		if (key_path(pairs[i].key, path, sizeof(path), err, err_size) < 0)
			return -1;
		if (cbor_isa_map(pairs[i].value)) {
			if (flatten(pairs[i].value, path, depth + 1, out, err, err_size) < 0)
				return -1;
			continue;
		}
		json_t *v = to_json(pairs[i].value, depth + 1, 0, err, err_size);
		if (!v)
			return -1;
		json_array_append_new(out, json_pack("{s:s, s:o}", "name", path, "value", v));
	}
	return 0;
}

json_t *emu_cbor_lwm2m_decode(const uint8_t *data, size_t len, char *err, size_t err_size)
{
	cbor_item_t *it = load(data, len, err, err_size);
	json_t *out = json_array();
	if (it && !cbor_isa_map(it))
		snprintf(err, err_size, "LwM2M CBOR: expected a map at the top");
	if (!it || !cbor_isa_map(it) || flatten(it, "", 0, out, err, err_size) < 0) {
		json_decref(out);
		out = NULL;
	}
	if (it)
		cbor_decref(&it);
	return out;
}

/* The CBOR label of a SenML JSON name, or 0 when it has none (vlo keeps its
 * text label, as LwM2M specifies). */
static cbor_item_t *label_item(const char *name)
{
	for (int64_t l = -6; l <= 8; l++) {
		const char *n = senml_label(l);
		if (n && !strcmp(n, name))
			return l < 0 ? cbor_build_negint8((uint8_t)(-1 - l))
				     : cbor_build_uint8((uint8_t)l);
	}
	return !strcmp(name, "vlo") ? cbor_build_string("vlo") : NULL;
}

/* One SenML JSON value as CBOR: vd is hex text, carried as bytes. */
static cbor_item_t *value_item(const char *name, const json_t *v)
{
	uint8_t buf[1024];
	int n;
	if (!strcmp(name, "vd") && json_is_string(v) &&
	    (n = lh_hex_decode(json_string_value(v), buf, sizeof(buf))) >= 0)
		return cbor_build_bytestring(buf, (size_t)n);
	if (json_is_string(v) && strcmp(name, "vd"))
		return cbor_build_string(json_string_value(v));
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return cbor_build_uint64((uint64_t)json_integer_value(v));
	if (json_is_integer(v))
		return cbor_build_negint64((uint64_t)(-1 - json_integer_value(v)));
	if (json_is_real(v))
		return cbor_build_float8(json_real_value(v));
	if (json_is_boolean(v))
		return cbor_build_bool(json_is_true(v));
	return NULL;
}

/* One record (a JSON object) as a CBOR map; NULL with err. */
static cbor_item_t *record_item(const json_t *r, size_t i, char *err, size_t err_size)
{
	const char *name;
	const json_t *v;
	cbor_item_t *map = json_is_object(r) ? cbor_new_definite_map(json_object_size(r)) : NULL;
	if (!map) {
		snprintf(err, err_size, "record %zu: expected an object", i);
		return NULL;
	}
	json_object_foreach((json_t *)r, name, v)
	{
		cbor_item_t *k = label_item(name), *val = k ? value_item(name, v) : NULL;
		if (!k || !val ||
		    !cbor_map_add(
			map, (struct cbor_pair){.key = cbor_move(k), .value = cbor_move(val)})) {
			snprintf(err, err_size, "record %zu: %s: unknown SenML label or wrong type",
				 i, name);
			if (k && !val)
				cbor_decref(&k);
			cbor_decref(&map);
			return NULL;
		}
	}
	return map;
}

size_t emu_cbor_senml_encode(const json_t *records, uint8_t **out, char *err, size_t err_size)
{
	const json_t *r;
	size_t i, size = 0, len = 0;
	cbor_item_t *arr =
	    json_is_array(records) ? cbor_new_definite_array(json_array_size(records)) : NULL;
	*out = NULL;
	if (!arr) {
		snprintf(err, err_size, "expected an array of SenML records");
		return 0;
	}
	json_array_foreach(records, i, r)
	{
		cbor_item_t *rec = record_item(r, i, err, err_size);
		if (!rec || !cbor_array_push(arr, cbor_move(rec)))
			goto exit;
	}
	len = cbor_serialize_alloc(arr, out, &size);
	if (len == 0)
		snprintf(err, err_size, "out of memory encoding SenML CBOR");
exit:
	cbor_decref(&arr);
	return len;
}
