/* shim_objects.c: the extra objects of the config, checked strictly (errors
 * name the JSON path), and the CoRE link payload built from them. */
#include "client_shim/shim_objects.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Writes "path: what" into msg; returns -1 for the caller to pass on. */
static int fail(char *msg, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
	return -1;
}

/* Reads member key of o as an integer in [lo, hi]; dflt when absent (a
 * negative dflt makes the member required). */
static int get_bounded(const json_t *o, const char *key, long lo, long hi, long dflt, long *out)
{
	const json_t *v = json_object_get(o, key);

	if (!v) {
		*out = dflt;
		return dflt < 0 ? -1 : 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return -1;
	*out = (long)json_integer_value(v);
	return 0;
}

/* The first key other than "id" and "instances", or NULL. */
static const char *unknown_key(const json_t *o)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)o, key, val)
	{
		if (strcmp(key, "id") && strcmp(key, "instances"))
			return key;
	}
	return NULL;
}

/* One entry {"id":N,"instances":K}: N not built in and not listed before. */
static int parse_one(const json_t *o, const char *path, size_t i, shim_objects_t *out, char *msg,
		     size_t size)
{
	const char *bad;
	long id, inst;
	size_t k;

	if (!json_is_object(o))
		return fail(msg, size, "%s[%zu]: expected an object {\"id\":N,\"instances\":K}",
			    path, i);
	if ((bad = unknown_key(o)))
		return fail(msg, size, "%s[%zu].%s: unknown key", path, i, bad);
	if (get_bounded(o, "id", 0, SHIM_OBJECT_ID_MAX, -1, &id))
		return fail(msg, size, "%s[%zu].id: missing or not an integer 0..%d", path, i,
			    SHIM_OBJECT_ID_MAX);
	if (get_bounded(o, "instances", 0, SHIM_INSTANCES_MAX, 1, &inst))
		return fail(msg, size, "%s[%zu].instances: expected an integer 0..%d", path, i,
			    SHIM_INSTANCES_MAX);
	if (id == 1 || id == 3)
		return fail(msg, size,
			    "%s[%zu].id: object %ld is built in (</1/0> and </3/0> are always "
			    "registered)",
			    path, i, id);
	for (k = 0; k < out->n; k++)
		if (out->obj[k].id == id)
			return fail(msg, size, "%s[%zu].id: object %ld is listed twice", path, i,
				    id);
	out->obj[out->n].id = (uint16_t)id;
	out->obj[out->n].instances = (uint16_t)inst;
	out->n++;
	return 0;
}

/* The array as a whole; out changes only when every entry is valid and the
 * payload fits SHIM_LINKS_MAX. */
int shim_objects_parse(const json_t *arr, const char *path, shim_objects_t *out, char *msg,
		       size_t msg_size)
{
	static char links[SHIM_LINKS_MAX];
	shim_objects_t tmp;
	const json_t *v;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) > SHIM_MAX_OBJECTS)
		return fail(msg, msg_size, "%s: expected an array of at most %d objects", path,
			    SHIM_MAX_OBJECTS);
	memset(&tmp, 0, sizeof(tmp));
	json_array_foreach(arr, i, v)
	{
		if (parse_one(v, path, i, &tmp, msg, msg_size))
			return -1;
	}
	if (shim_objects_links(&tmp, links, sizeof(links)) < 0)
		return fail(msg, msg_size, "%s: the link payload would exceed %d bytes", path,
			    SHIM_LINKS_MAX - 1);
	*out = tmp;
	return 0;
}

/* Appends the link of one object (inst < 0) or object instance, comma
 * separated; returns -1 when buf is full. */
static int append(char *buf, size_t size, size_t *used, unsigned id, long inst)
{
	const char *sep = *used ? "," : "";
	int n = inst < 0 ? snprintf(buf + *used, size - *used, "%s</%u>", sep, id)
			 : snprintf(buf + *used, size - *used, "%s</%u/%ld>", sep, id, inst);

	if (n < 0 || (size_t)n >= size - *used)
		return -1;
	*used += (size_t)n;
	return 0;
}

/* "</1/0>,</3/0>" then "</id>" or "</id/0>,...,</id/K-1>" per extra object. */
int shim_objects_links(const shim_objects_t *o, char *buf, size_t size)
{
	size_t used = 0, i;
	long k;

	if (size == 0)
		return -1;
	buf[0] = 0;
	if (append(buf, size, &used, 1, 0) || append(buf, size, &used, 3, 0))
		return -1;
	for (i = 0; i < o->n; i++) {
		if (o->obj[i].instances == 0 && append(buf, size, &used, o->obj[i].id, -1))
			return -1;
		for (k = 0; k < o->obj[i].instances; k++)
			if (append(buf, size, &used, o->obj[i].id, k))
				return -1;
	}
	return (int)used;
}
