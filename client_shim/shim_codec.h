/* shim_codec.h: the payload of a server's Write, decoded into one record
 * per resource: TLV (11542), SenML JSON (110), text (0) and opaque (42);
 * and the SenML JSON of the composite operations (a Write-Composite's
 * records, a Read-/Observe-Composite's path list).
 * What does not decode is a 4.00 with the reason; a format the client does
 * not take is 4.15. */
#ifndef SHIM_CODEC_H
#define SHIM_CODEC_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "client_shim/shim_model.h"

#define SHIM_FMT_TEXT 0
#define SHIM_FMT_LINK 40
#define SHIM_FMT_OPAQUE 42
#define SHIM_FMT_SENML_JSON 110
#define SHIM_FMT_TLV 11542
#define SHIM_REC_MAX 16

typedef enum {
	SHIM_REC_RAW,  /* TLV value or opaque bytes */
	SHIM_REC_TEXT, /* text/plain */
	SHIM_REC_NUM,  /* SenML "v" */
	SHIM_REC_BOOL, /* SenML "vb" */
	SHIM_REC_STR,  /* SenML "vs" */
	SHIM_REC_MULTI /* TLV multiple resource (instances inside) */
} shim_rec_kind_t;

typedef struct {
	/* oid, iid: the written target's, or a Write-Composite record's own */
	int oid, iid, rid;
	int kind; /* shim_rec_kind_t */
	const uint8_t *data;
	size_t len;
	double num;
} shim_rec_t;

typedef struct {
	shim_rec_t rec[SHIM_REC_MAX];
	size_t n;
	json_t *senml; /* keeps SenML strings alive; shim_codec_release */
} shim_recs_t;

/* Decodes a Write to target (an instance or a resource; fmt -1 when the
 * request had no Content-Format). Returns 0, or the CoAP code (400, 415)
 * with a reason in why. */
int shim_codec_decode(const shim_path_t *target, int fmt, const uint8_t *data, size_t len,
		      shim_recs_t *out, char *why, size_t why_size);
void shim_codec_release(shim_recs_t *r);
/* Decodes a Write-Composite (iPATCH, LwM2M 1.1 §6.3.10): SenML JSON
 * records naming resources anywhere in the model, each with a value.
 * Returns 0, or 400 / 415 with why. */
int shim_codec_decode_composite(int fmt, const uint8_t *data, size_t len, shim_recs_t *out,
				char *why, size_t why_size);
/* Decodes the path list of a Read-/Observe-Composite (FETCH, §6.3.8):
 * SenML JSON records with names only ("bn" + "n"), at most max paths.
 * Returns 0 with *n set, or 400 / 415 with why. */
int shim_codec_paths(int fmt, const uint8_t *data, size_t len, shim_path_t *paths, size_t max,
		     size_t *n, char *why, size_t why_size);
/* Converts a record into def's type; 0, or 400 with why. */
int shim_codec_value(const shim_res_def_t *def, const shim_rec_t *rec, shim_val_t *out, char *why,
		     size_t why_size);

#endif
