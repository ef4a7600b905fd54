#include "har_timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "har_match.h"
#include "lh_time.h"

/* Events arrive from several pipes; the array grows as they come. */
int har_timeline_add(struct har_timeline *tl, json_t *event)
{
	if (tl->n == tl->cap) {
		size_t cap = tl->cap ? tl->cap * 2 : 64;
		json_t **ev = realloc(tl->ev, cap * sizeof(*ev));
		if (!ev) {
			json_decref(event);
			return -1;
		}
		tl->ev = ev;
		tl->cap = cap;
	}
	tl->ev[tl->n++] = event;
	return 0;
}

/* The harness's own steps belong in the same timeline as the processes'. */
void har_timeline_note(struct har_timeline *tl, const char *name, json_t *fields)
{
	json_t *ev = json_object();
	json_object_set_new(ev, "ts", json_real(lh_time_wall()));
	json_object_set_new(ev, "src", json_string("harness"));
	json_object_set_new(ev, "event", json_string(name));
	if (fields) {
		json_object_update_missing(ev, fields);
		json_decref(fields);
	}
	har_timeline_add(tl, ev);
}

/* Expectations search forward from their scope's start. */
long har_timeline_find(const struct har_timeline *tl, const json_t *match, size_t from)
{
	for (size_t i = from; i < tl->n; i++)
		if (har_match_event(match, tl->ev[i]))
			return (long)i;
	return -1;
}

/* Count expectations and the unit tests use it. */
size_t har_timeline_count(const struct har_timeline *tl, const json_t *match, size_t from)
{
	size_t n = 0;
	for (size_t i = from; i < tl->n; i++)
		n += har_match_event(match, tl->ev[i]) ? 1 : 0;
	return n;
}

struct ts_item {
	double ts;
	size_t idx;
	const json_t *ev;
};

/* Orders by ts, then by arrival, so the sort is stable. */
static int ts_cmp(const void *a, const void *b)
{
	const struct ts_item *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* Written sorted by ts so a person reads one story. */
int har_timeline_write(const struct har_timeline *tl, const char *path)
{
	int ret = -1;
	struct ts_item *items = calloc(tl->n ? tl->n : 1, sizeof(*items));
	FILE *f = fopen(path, "w");
	if (!items || !f)
		goto exit;
	for (size_t i = 0; i < tl->n; i++) {
		items[i].ts = json_number_value(json_object_get(tl->ev[i], "ts"));
		items[i].idx = i;
		items[i].ev = tl->ev[i];
	}
	qsort(items, tl->n, sizeof(*items), ts_cmp);
	for (size_t i = 0; i < tl->n; i++) {
		if (json_dumpf(items[i].ev, f,
			       JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) != 0 ||
		    fputc('\n', f) == EOF)
			goto exit;
	}
	ret = 0;
exit:
	if (f && fclose(f) != 0)
		ret = -1;
	free(items);
	return ret;
}

/* Frees every event. */
void har_timeline_free(struct har_timeline *tl)
{
	for (size_t i = 0; i < tl->n; i++)
		json_decref(tl->ev[i]);
	free(tl->ev);
	memset(tl, 0, sizeof(*tl));
}
