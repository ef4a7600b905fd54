#include "har_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Grows the array geometrically; aborts only if memory is exhausted. */
static int errs_reserve(struct har_errs *e)
{
	if (e->n < e->cap)
		return 0;
	size_t cap = e->cap ? e->cap * 2 : 8;
	struct har_err *v = realloc(e->v, cap * sizeof(*v));
	if (!v)
		return -1;
	e->v = v;
	e->cap = cap;
	return 0;
}

/* Errors are collected, not printed, so callers decide where they go. */
void har_errs_add(struct har_errs *e, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	if (errs_reserve(e) != 0)
		return;
	va_start(ap, fmt);
	int rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return;
	e->v[e->n].path = strdup(path ? path : "$");
	e->v[e->n].msg = msg;
	if (!e->v[e->n].path) {
		free(msg);
		return;
	}
	e->n++;
}

/* Used by oneOf/anyOf: a branch's errors are kept aside, then maybe adopted. */
void har_errs_move(struct har_errs *dst, struct har_errs *src)
{
	for (size_t i = 0; i < src->n; i++) {
		if (errs_reserve(dst) != 0) {
			free(src->v[i].path);
			free(src->v[i].msg);
			continue;
		}
		dst->v[dst->n++] = src->v[i];
	}
	src->n = 0;
}

/* Releases everything; the list can be reused afterwards. */
void har_errs_free(struct har_errs *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].path);
		free(e->v[i].msg);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}
