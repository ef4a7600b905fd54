/* shim_codec.c: TLV (OMA-TS-LightweightM2M-V1_1 §7.4.3), SenML JSON
 * (RFC 8428 with the LwM2M names), text and opaque Write payloads. */
#include "client_shim/shim_codec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLV_INSTANCE 0
#define TLV_RES_INSTANCE 1
#define TLV_MULTIPLE 2
#define TLV_RESOURCE 3

/* Writes the reason and returns code, for the caller to pass on. */
static int bad(int code, char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(int code, char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return code;
}

/* Appends a record; 400 when the payload has more than SHIM_REC_MAX. */
static int add(shim_recs_t *out, int rid, int kind, const uint8_t *data, size_t len, double num,
	       char *why, size_t size)
{
	shim_rec_t *r;

	if (out->n == SHIM_REC_MAX)
		return bad(400, why, size, "more than %d resources in one Write", SHIM_REC_MAX);
	r = &out->rec[out->n++];
	r->rid = rid;
	r->kind = kind;
	r->data = data;
	r->len = len;
	r->num = num;
	return 0;
}

/* One TLV header at p (avail bytes): kind, id, value start and length. */
static int tlv_header(const uint8_t *p, size_t avail, int *kind, int *id, size_t *hdr, size_t *vlen)
{
	size_t idlen = (p[0] & 0x20) ? 2 : 1, ltype = (p[0] >> 3) & 3, i;

	*kind = p[0] >> 6;
	*hdr = 1 + idlen + ltype;
	if (avail < *hdr)
		return -1;
	*id = idlen == 2 ? (p[1] << 8 | p[2]) : p[1];
	*vlen = ltype ? 0 : (size_t)(p[0] & 7);
	for (i = 0; i < ltype; i++)
		*vlen = *vlen << 8 | p[1 + idlen + i];
	return *vlen > avail - *hdr ? -1 : 0;
}

/* Walks a TLV sequence; an Object Instance wrapper for the target
 * instance is opened (once), resources become records. */
static int tlv_walk(const shim_path_t *t, const uint8_t *p, size_t len, int nested,
		    shim_recs_t *out, char *why, size_t size)
{
	size_t hdr, vlen, off = 0;
	int kind, id, ret;

	while (off < len) {
		if (tlv_header(p + off, len - off, &kind, &id, &hdr, &vlen))
			return bad(400, why, size, "TLV: truncated entry at byte %zu", off);
		if (kind == TLV_INSTANCE && !nested && id == t->iid)
			ret = tlv_walk(t, p + off + hdr, vlen, 1, out, why, size);
		else if (kind == TLV_INSTANCE)
			ret =
			    bad(400, why, size, "TLV: object instance %d where /%d/%d was written",
				id, t->oid, t->iid);
		else if (kind == TLV_RES_INSTANCE)
			ret = bad(400, why, size,
				  "TLV: resource instance %d outside a multiple "
				  "resource",
				  id);
		else
			ret = add(out, id, kind == TLV_MULTIPLE ? SHIM_REC_MULTI : SHIM_REC_RAW,
				  p + off + hdr, vlen, 0, why, size);
		if (ret)
			return ret;
		off += hdr + vlen;
	}
	return 0;
}

/* The name ("bn" + "n") of one SenML record as a path: a resource under
 * target, or (target NULL, a composite) any resource path. */
static int senml_name(const shim_path_t *t, const char *bn, const json_t *rec, int want_depth,
		      shim_path_t *p, char *why, size_t size)
{
	const char *n = json_string_value(json_object_get(rec, "n"));
	char name[128];

	snprintf(name, sizeof(name), "%s%s", bn, n ? n : "");
	/* A path list may name the root: everything the server may read. */
	if (!want_depth && !strcmp(name, "/"))
		return *p = (shim_path_t){-1, -1, -1, 0}, 0;
	if (shim_model_path(name, strlen(name), p) || (want_depth && p->depth != want_depth))
		return bad(400, why, size, "SenML: name \"%s\" is not %s path", name,
			   want_depth ? "a resource" : "an object, instance or resource");
	if (t && (p->oid != t->oid || p->iid != t->iid || (t->depth == 3 && p->rid != t->rid)))
		return bad(400, why, size, "SenML: \"%s\" is outside the written path", name);
	return 0;
}

/* One SenML record: its value as a record for rid. */
static int senml_one(const shim_path_t *t, const char *bn, const json_t *rec, shim_recs_t *out,
		     char *why, size_t size)
{
	const json_t *v;
	shim_path_t p;
	int ret;

	if (!json_is_object(rec))
		return bad(400, why, size, "SenML: a record is not an object");
	if (senml_name(t, bn, rec, 3, &p, why, size))
		return 400;
	if ((v = json_object_get(rec, "v")) && json_is_number(v))
		ret = add(out, p.rid, SHIM_REC_NUM, NULL, 0, json_number_value(v), why, size);
	else if ((v = json_object_get(rec, "vb")) && json_is_boolean(v))
		ret = add(out, p.rid, SHIM_REC_BOOL, NULL, 0, json_is_true(v), why, size);
	else if ((v = json_object_get(rec, "vs")) && json_is_string(v))
		ret = add(out, p.rid, SHIM_REC_STR, (const uint8_t *)json_string_value(v),
			  json_string_length(v), 0, why, size);
	else
		return bad(400, why, size, "SenML: record without a v, vb or vs value");
	if (!ret) {
		out->rec[out->n - 1].oid = p.oid;
		out->rec[out->n - 1].iid = p.iid;
	}
	return ret;
}

/* Parses a non-empty SenML JSON array into out->senml. */
static int senml_array(const uint8_t *data, size_t len, shim_recs_t *out, char *why, size_t size)
{
	json_error_t jerr;

	out->senml = json_loadb((const char *)data, len, 0, &jerr);
	if (!json_is_array(out->senml) || !json_array_size(out->senml))
		return bad(400, why, size, "SenML JSON: %s",
			   out->senml ? "expected a non-empty array" : jerr.text);
	return 0;
}

/* A SenML JSON array; "bn" carries over to the following records. */
static int senml_decode(const shim_path_t *t, const uint8_t *data, size_t len, shim_recs_t *out,
			char *why, size_t size)
{
	const char *bn = "";
	const json_t *rec;
	size_t i;
	int ret;

	if ((ret = senml_array(data, len, out, why, size)))
		return ret;
	json_array_foreach(out->senml, i, rec)
	{
		if (json_is_string(json_object_get(rec, "bn")))
			bn = json_string_value(json_object_get(rec, "bn"));
		if ((ret = senml_one(t, bn, rec, out, why, size)))
			return ret;
	}
	return 0;
}

/* Picks the decoder by Content-Format; text and opaque name one resource. */
static int decode_target(const shim_path_t *t, int fmt, const uint8_t *data, size_t len,
			 shim_recs_t *out, char *why, size_t size)
{
	if (!len)
		return bad(400, why, size, "a Write without a payload");
	if (fmt == SHIM_FMT_TLV)
		return tlv_walk(t, data, len, 0, out, why, size);
	if (fmt == SHIM_FMT_SENML_JSON)
		return senml_decode(t, data, len, out, why, size);
	if (fmt != SHIM_FMT_TEXT && fmt != SHIM_FMT_OPAQUE && fmt != -1)
		return bad(415, why, size,
			   "content-format %d is not supported (text, opaque, TLV, "
			   "SenML JSON)",
			   fmt);
	if (t->depth != 3)
		return bad(400, why, size, "%s needs a resource path, not /%d/%d",
			   fmt == SHIM_FMT_OPAQUE ? "opaque" : "text", t->oid, t->iid);
	return add(out, t->rid, fmt == SHIM_FMT_OPAQUE ? SHIM_REC_RAW : SHIM_REC_TEXT, data, len, 0,
		   why, size);
}

/* A Write names its records by the target's object and instance. */
int shim_codec_decode(const shim_path_t *t, int fmt, const uint8_t *data, size_t len,
		      shim_recs_t *out, char *why, size_t size)
{
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = decode_target(t, fmt, data, len, out, why, size);
	for (i = 0; i < out->n; i++) {
		out->rec[i].oid = t->oid;
		out->rec[i].iid = t->iid < 0 ? 0 : t->iid;
	}
	return ret;
}

/* SenML JSON is the one composite format taken (SenML CBOR is 4.15). */
static int composite_format(int fmt, size_t len, const char *what, char *why, size_t size)
{
	if (fmt != SHIM_FMT_SENML_JSON)
		return bad(415, why, size,
			   "content-format %d is not supported for a %s (SenML JSON, 110)", fmt,
			   what);
	if (!len)
		return bad(400, why, size, "a %s without a payload", what);
	return 0;
}

/* Each record names its own resource: no target to check against. */
int shim_codec_decode_composite(int fmt, const uint8_t *data, size_t len, shim_recs_t *out,
				char *why, size_t size)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = composite_format(fmt, len, "Write-Composite", why, size)))
		return ret;
	return senml_decode(NULL, data, len, out, why, size);
}

/* The list of a FETCH: names only, values (if any) are not looked at. */
int shim_codec_paths(int fmt, const uint8_t *data, size_t len, shim_path_t *paths, size_t max,
		     size_t *n, char *why, size_t size)
{
	shim_recs_t tmp = {.n = 0};
	const char *bn = "";
	const json_t *rec;
	size_t i;
	int ret = composite_format(fmt, len, "composite path list", why, size);

	*n = 0;
	if (ret || (ret = senml_array(data, len, &tmp, why, size)))
		goto exit;
	json_array_foreach(tmp.senml, i, rec)
	{
		if (json_is_string(json_object_get(rec, "bn")))
			bn = json_string_value(json_object_get(rec, "bn"));
		if (!json_is_object(rec))
			ret = bad(400, why, size, "SenML: a record is not an object");
		else if (*n == max)
			ret = bad(400, why, size, "more than %zu paths in one request", max);
		else
			ret = senml_name(NULL, bn, rec, 0, &paths[*n], why, size);
		if (ret)
			goto exit;
		(*n)++;
	}
exit:
	shim_codec_release(&tmp);
	return ret;
}

/* SenML records point into the parsed JSON: freed after the Write. */
void shim_codec_release(shim_recs_t *r)
{
	json_decref(r->senml);
	r->senml = NULL;
}

/* A TLV integer: big-endian two's complement of 1, 2, 4 or 8 bytes. */
static int tlv_int(const shim_rec_t *r, long long *out)
{
	unsigned long long u = 0;
	size_t i;

	if (r->len != 1 && r->len != 2 && r->len != 4 && r->len != 8)
		return -1;
	for (i = 0; i < r->len; i++)
		u = u << 8 | r->data[i];
	if (r->len < 8 && (r->data[0] & 0x80))
		u |= ~0ULL << (8 * r->len);
	*out = (long long)u;
	return 0;
}

/* A text integer: all of it decimal, in range. */
static int text_int(const shim_rec_t *r, long long *out)
{
	char buf[32], *end;

	if (!r->len || r->len >= sizeof(buf))
		return -1;
	memcpy(buf, r->data, r->len);
	buf[r->len] = 0;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return errno || *end ? -1 : 0;
}

/* The record as an integer (INT) or 0/1 (BOOL). */
static int number_of(const shim_rec_t *r, int is_bool, long long *out)
{
	int ret = -1;

	if (r->kind == SHIM_REC_RAW)
		ret = tlv_int(r, out);
	else if (r->kind == SHIM_REC_TEXT)
		ret = text_int(r, out);
	else if (r->kind == (is_bool ? SHIM_REC_BOOL : SHIM_REC_NUM) && r->num == floor(r->num) &&
		 fabs(r->num) < 9e15)
		ret = (*out = (long long)r->num, 0);
	return ret || (is_bool && *out != 0 && *out != 1) ? -1 : 0;
}

/* A record becomes a value only when it fits the resource's type. */
int shim_codec_value(const shim_res_def_t *d, const shim_rec_t *r, shim_val_t *out, char *why,
		     size_t size)
{
	memset(out, 0, sizeof(*out));
	if (r->kind == SHIM_REC_MULTI || d->multiple)
		return bad(400, why, size, "/%u/0/%u: single/multiple resource mismatch", d->oid,
			   d->rid);
	if (d->type == SHIM_T_INT || d->type == SHIM_T_BOOL) {
		if (number_of(r, d->type == SHIM_T_BOOL, &out->num))
			return bad(400, why, size, "/%u/0/%u: not a valid %s", d->oid, d->rid,
				   d->type == SHIM_T_BOOL ? "boolean" : "integer");
		return 0;
	}
	if (r->kind != SHIM_REC_RAW && r->kind != SHIM_REC_TEXT && r->kind != SHIM_REC_STR)
		return bad(400, why, size, "/%u/0/%u: expected a string value", d->oid, d->rid);
	if (r->len > SHIM_VAL_MAX)
		return bad(400, why, size, "/%u/0/%u: value longer than %d bytes", d->oid, d->rid,
			   SHIM_VAL_MAX);
	memcpy(out->bytes, r->data, r->len);
	out->len = r->len;
	return 0;
}
