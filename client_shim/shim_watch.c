/* shim_watch.c: notification attributes and the pmin/pmax timer. */
#include "client_shim/shim_watch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh_time.h"

#define WATCH_MAX 64
#define ATTR_MAX 32
#define LIST_MAX 16

/* The attributes of one path; -1 / NAN when not set. */
typedef struct {
	shim_path_t path;
	long pmin, pmax;
	double gt, lt, st;
} attrs_t;

/* One observable resource. */
typedef struct {
	coap_resource_t *r;
	shim_path_t path;
	int observed; /* an Observe registered (and not cancelled) */
	int changed;  /* a notification waits for pmin */
	int64_t last_ms;
	/* The root (depth 0) carries the Observe-Composite observations: the
	 * union of the paths they list. */
	shim_path_t list[LIST_MAX];
	size_t nlist;
} watched_t;

struct shim_watch {
	watched_t w[WATCH_MAX];
	size_t n;
	attrs_t a[ATTR_MAX];
	size_t na;
};

/* Empty: nothing observed, no attributes written. */
shim_watch_t *shim_watch_new(void)
{
	return calloc(1, sizeof(shim_watch_t));
}

/* Frees the table (libcoap owns the resources). */
void shim_watch_free(shim_watch_t *w)
{
	free(w);
}

/* Same object, instance and resource (and depth). */
static int same_path(const shim_path_t *a, const shim_path_t *b)
{
	return a->depth == b->depth && a->oid == b->oid && a->iid == b->iid && a->rid == b->rid;
}

/* Remembers r with its LwM2M path, for the tick and the inheritance. */
int shim_watch_track(shim_client_t *c, coap_resource_t *r)
{
	coap_str_const_t *uri = coap_resource_get_uri_path(r);
	watched_t *w;

	if (!c->watch || c->watch->n == WATCH_MAX)
		return -1;
	w = &c->watch->w[c->watch->n];
	memset(w, 0, sizeof(*w));
	if (!uri || shim_model_path((const char *)uri->s, uri->length, &w->path))
		return -1;
	w->r = r;
	c->watch->n++;
	return 0;
}

/* The tracked entry of r, or NULL. */
static watched_t *find(shim_client_t *c, const coap_resource_t *r)
{
	size_t i;

	for (i = 0; c->watch && i < c->watch->n; i++)
		if (c->watch->w[i].r == r)
			return &c->watch->w[i];
	return NULL;
}

/* libcoap keeps observers to itself: the shim follows them from the GETs
 * it answers, so the tick knows what to notify. */
void shim_watch_noted(shim_client_t *c, coap_resource_t *r, int observe, int notification)
{
	watched_t *w = find(c, r);

	if (!w)
		return;
	if (observe == 0 && !notification)
		w->observed = 1;
	else if (observe == 1 && !notification)
		w->observed = 0;
	if (notification || observe == 0)
		w->last_ms = lh_time_mono_ms();
}

/* The root has no LwM2M path of its own: its entry (depth 0) takes the
 * paths of the Observe-Composite requests it answers. */
int shim_watch_track_root(shim_client_t *c, coap_resource_t *r)
{
	if (!c->watch || c->watch->n == WATCH_MAX)
		return -1;
	memset(&c->watch->w[c->watch->n], 0, sizeof(watched_t));
	c->watch->w[c->watch->n].r = r;
	c->watch->n++;
	return 0;
}

/* An Observe-Composite adds its paths to the root's list (a fresh list
 * when nothing was observed there); the rest is as for one resource. */
void shim_watch_composite(shim_client_t *c, coap_resource_t *r, const shim_path_t *paths, size_t n,
			  int observe, int notification)
{
	watched_t *w = find(c, r);
	size_t i, k;

	if (w && observe == 0 && !notification) {
		if (!w->observed)
			w->nlist = 0;
		for (i = 0; i < n && w->nlist < LIST_MAX; i++) {
			for (k = 0; k < w->nlist && !same_path(&w->list[k], &paths[i]); k++)
				;
			if (k == w->nlist)
				w->list[w->nlist++] = paths[i];
		}
	}
	/* A cancel ends one observation of the root; libcoap says when the
	 * last one is gone (notify_observers finds none in the tick). */
	shim_watch_noted(c, r, observe == 1 ? -1 : observe, notification);
}

/* The attribute entry of exactly p (created when create is set), or NULL. */
static attrs_t *attrs_of(shim_client_t *c, const shim_path_t *p, int create)
{
	size_t i;
	attrs_t *a;

	for (i = 0; c->watch && i < c->watch->na; i++)
		if (same_path(&c->watch->a[i].path, p))
			return &c->watch->a[i];
	if (!create || !c->watch || c->watch->na == ATTR_MAX)
		return NULL;
	a = &c->watch->a[c->watch->na++];
	a->path = *p;
	a->pmin = a->pmax = -1;
	a->gt = a->lt = a->st = NAN;
	return a;
}

/* Parses one "name=value" (or "name": unset) into a. */
static int one_attr(attrs_t *a, const char *kv, char *why, size_t size)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	char *end = NULL;
	double v = eq ? strtod(eq + 1, &end) : NAN;
	int is_period =
	    (klen == 4 && !strncmp(kv, "pmin", 4)) || (klen == 4 && !strncmp(kv, "pmax", 4));

	if (eq && (end == eq + 1 || *end || (is_period && (v < 0 || v != floor(v) || v > 86400))))
		return snprintf(why, size, "attribute %s: bad value", kv), 400;
	if (klen == 4 && !strncmp(kv, "pmin", 4))
		a->pmin = eq ? (long)v : -1;
	else if (klen == 4 && !strncmp(kv, "pmax", 4))
		a->pmax = eq ? (long)v : -1;
	else if (klen == 2 && !strncmp(kv, "gt", 2))
		a->gt = v;
	else if (klen == 2 && !strncmp(kv, "lt", 2))
		a->lt = v;
	else if (klen == 2 && !strncmp(kv, "st", 2))
		a->st = v;
	else
		return snprintf(why, size, "unknown attribute \"%.*s\"", (int)klen, kv), 400;
	return 0;
}

/* All attributes of one request apply together or not at all. */
int shim_watch_write_attrs(shim_client_t *c, const shim_path_t *p, const coap_string_t *query,
			   char *why, size_t size)
{
	char buf[256], *save = NULL, *kv;
	attrs_t *a, tmp;

	if (!query || !query->length || query->length >= sizeof(buf))
		return snprintf(why, size, "Write-Attributes needs Uri-Query attributes"), 400;
	if (!(a = attrs_of(c, p, 1)))
		return snprintf(why, size, "no room for more attributes"), 400;
	tmp = *a;
	memcpy(buf, query->s, query->length);
	buf[query->length] = 0;
	for (kv = strtok_r(buf, "&", &save); kv; kv = strtok_r(NULL, "&", &save))
		if (one_attr(&tmp, kv, why, size))
			return 400;
	if (tmp.pmin >= 0 && tmp.pmax >= 0 && tmp.pmax < tmp.pmin)
		return snprintf(why, size, "pmax %ld is below pmin %ld", tmp.pmax, tmp.pmin), 400;
	*a = tmp;
	return 0;
}

/* Appends ";name=value" when the value is set. */
static void append(char *buf, size_t size, const char *name, double v)
{
	size_t used = strlen(buf);

	if (!isnan(v) && used < size)
		snprintf(buf + used, size - used, ";%s=%g", name, v);
}

/* Discover shows the attributes written on exactly this path. */
void shim_watch_attr_text(shim_client_t *c, const shim_path_t *p, char *buf, size_t size)
{
	const attrs_t *a = attrs_of(c, p, 0);

	buf[0] = 0;
	if (!a)
		return;
	append(buf, size, "pmin", a->pmin < 0 ? NAN : (double)a->pmin);
	append(buf, size, "pmax", a->pmax < 0 ? NAN : (double)a->pmax);
	append(buf, size, "gt", a->gt);
	append(buf, size, "lt", a->lt);
	append(buf, size, "st", a->st);
}

/* pmin (want_max 0) or pmax in seconds for p: its own, its instance's, its
 * object's, else the Server object's default; -1 when none. */
static long period(shim_client_t *c, const shim_path_t *p, int want_max)
{
	shim_path_t up = *p;
	const attrs_t *a;
	const shim_val_t *dflt;
	long v;

	for (; up.depth > 0; up.depth--) {
		if (up.depth == 2)
			up.rid = -1;
		if (up.depth == 1)
			up.iid = -1;
		a = attrs_of(c, &up, 0);
		v = a ? (want_max ? a->pmax : a->pmin) : -1;
		if (v >= 0)
			return v;
	}
	dflt = shim_model_val(c->model, 1, want_max ? 3 : 2);
	return dflt && dflt->num > 0 ? (long)dflt->num : -1;
}

/* The composite root's pmin/pmax: the smallest of its paths' (set) ones,
 * so no listed path waits longer than its own attributes say. */
static long watched_period(shim_client_t *c, const watched_t *w, int want_max)
{
	long best = -1, v;
	size_t i;

	if (w->path.depth)
		return period(c, &w->path, want_max);
	for (i = 0; i < w->nlist; i++)
		if ((v = period(c, &w->list[i], want_max)) >= 0 && (best < 0 || v < best))
			best = v;
	return best;
}

/* True when w sits at p or under it / above it (a parent sees the change). */
static int covers(const shim_path_t *w, const shim_path_t *p)
{
	if (w->oid != p->oid)
		return 0;
	if (w->depth == 1)
		return 1;
	if (w->iid != p->iid && p->depth >= 2)
		return 0;
	return w->depth == 2 || p->depth <= 2 || w->rid == p->rid;
}

/* covers() for a resource's entry, any listed path for the root's. */
static int watched_covers(const watched_t *w, const shim_path_t *p)
{
	size_t i;

	if (w->path.depth)
		return covers(&w->path, p);
	for (i = 0; i < w->nlist; i++)
		if (!w->list[i].depth || covers(&w->list[i], p))
			return 1;
	return 0;
}

/* A Write changed a value: notify its observers as soon as pmin allows. */
void shim_watch_changed(shim_client_t *c, const shim_path_t *p)
{
	size_t i;

	for (i = 0; c->watch && i < c->watch->n; i++)
		if (c->watch->w[i].observed && watched_covers(&c->watch->w[i], p))
			c->watch->w[i].changed = 1;
	shim_watch_tick(c);
}

/* Whether w is due now: a change past pmin, or pmax since the last one. */
static int due(shim_client_t *c, const watched_t *w, int64_t now)
{
	long pmin = watched_period(c, w, 0), pmax = watched_period(c, w, 1);

	if (w->changed && (pmin <= 0 || now - w->last_ms >= pmin * 1000))
		return 1;
	return pmax > 0 && now - w->last_ms >= pmax * 1000;
}

/* Every loop turn: what pmin/pmax make due goes to libcoap, which sends
 * it in the same turn (coap_io_process follows). */
void shim_watch_tick(shim_client_t *c)
{
	int64_t now = lh_time_mono_ms();
	watched_t *w;
	size_t i;

	for (i = 0; c->watch && c->connected && i < c->watch->n; i++) {
		w = &c->watch->w[i];
		if (!w->observed || !due(c, w, now))
			continue;
		w->changed = 0;
		w->last_ms = now;
		/* libcoap says 0 when the observer went away (RST, cancel). */
		if (!coap_resource_notify_observers(w->r, NULL))
			w->observed = 0;
	}
}
