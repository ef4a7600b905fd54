#include "emu_senml.h"

#include <stdio.h>
#include <string.h>

/* The value of a record: v (number), vs (string), vb (boolean), vd (data,
 * kept as its base64 text) or vlo (object link, LwM2M). */
static json_t *record_value(const json_t *r)
{
	static const char *const keys[] = {"v", "vs", "vb", "vd", "vlo"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(r, keys[i]);
		if (v)
			return json_incref(v);
	}
	return NULL;
}

/* Resolves one record against the running base name and base time. */
static json_t *resolve(const json_t *r, size_t i, char *bn, size_t bn_size, double *bt, char *err,
		       size_t err_size)
{
	const json_t *jbn = json_object_get(r, "bn"), *jbt = json_object_get(r, "bt");
	const json_t *jn = json_object_get(r, "n"), *jt = json_object_get(r, "t");
	char name[512];
	if (!json_is_object(r) || (jbn && !json_is_string(jbn)) || (jn && !json_is_string(jn)) ||
	    (jbt && !json_is_number(jbt)) || (jt && !json_is_number(jt))) {
		snprintf(err, err_size,
			 "record %zu: expected an object with string bn/n and "
			 "numeric bt/t",
			 i);
		return NULL;
	}
	if (jbn)
		snprintf(bn, bn_size, "%s", json_string_value(jbn));
	if (jbt)
		*bt = json_number_value(jbt);
	snprintf(name, sizeof(name), "%s%s", bn, jn ? json_string_value(jn) : "");
	json_t *out = json_pack("{s:s}", "name", name);
	json_t *v = record_value(r);
	json_object_set_new(out, "value", v ? v : json_null());
	if (jt || jbt)
		json_object_set_new(out, "time",
				    json_real(*bt + (jt ? json_number_value(jt) : 0.0)));
	return out;
}

json_t *emu_senml_resolve(const json_t *doc, char *err, size_t err_size)
{
	json_t *out = json_array(), *r;
	char bn[256] = "";
	double bt = 0;
	size_t i;
	if (!json_is_array(doc)) {
		snprintf(err, err_size, "not a SenML array");
		goto err;
	}
	json_array_foreach(doc, i, r)
	{
		json_t *rec = resolve(r, i, bn, sizeof(bn), &bt, err, err_size);
		if (!rec)
			goto err;
		json_array_append_new(out, rec);
	}
	return out;
err:
	json_decref(out);
	return NULL;
}

json_t *emu_senml_decode(const char *buf, size_t len, char *err, size_t err_size)
{
	json_error_t jerr;
	json_t *doc = json_loadb(buf, len, 0, &jerr);
	if (!json_is_array(doc)) {
		snprintf(err, err_size, "not a SenML JSON array%s%s", doc ? "" : ": ",
			 doc ? "" : jerr.text);
		json_decref(doc);
		return NULL;
	}
	json_t *out = emu_senml_resolve(doc, err, err_size);
	json_decref(doc);
	return out;
}
