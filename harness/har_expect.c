#include "har_expect.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "har_match.h"
#include "lh_time.h"

#define DEFAULT_WITHIN_MS 5000
#define MAX_CANDIDATES 3
#define MAX_RECENT 6

static const char *const kinds[] = {"expect_event", "expect_absent", "expect_count", "expect_order",
				    NULL};

/* Lets the step runner tell expectations from actions. */
int har_expect_is(const json_t *item)
{
	return har_expect_kind(item) != NULL;
}

/* The kind names the expectation in failure messages. */
const char *har_expect_kind(const json_t *item)
{
	for (size_t i = 0; kinds[i]; i++)
		if (json_object_get(item, kinds[i]))
			return kinds[i];
	return NULL;
}

/* Appends to buf, never past its end. */
static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Messages are built piecewise; this never writes past the buffer. */
static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* Seconds since the scenario started, for "at +1.234s" in messages. */
static double rel_ts(const struct har_ctx *c, const json_t *ev)
{
	double t0 = c->tl.n ? json_number_value(json_object_get(c->tl.ev[0], "ts")) : 0;
	return json_number_value(json_object_get(ev, "ts")) - t0;
}

/* Where the expectation looks from: the start, or the last action. */
static size_t scope_from(const struct har_ctx *c, const json_t *item, int final)
{
	const char *since = json_string_value(json_object_get(item, "since"));
	int from_start = since ? strcmp(since, "start") == 0 : final;
	return from_start ? 0 : c->action_mark;
}

/* Text of the scope for messages. */
static const char *scope_text(size_t from)
{
	return from == 0 ? "since the start" : "since the last action";
}

/* An integer option of an expectation, with its default. */
static int opt_ms(const json_t *item, const char *key, int dflt)
{
	const json_t *v = json_object_get(item, key);
	return v ? (int)json_integer_value(v) : dflt;
}

/* "Seen instead": the events with the expected name and why each does not
 * match; if there are none, the last events in scope. */
static void nearest(const struct har_ctx *c, const json_t *m, size_t from, char *buf, size_t size)
{
	const json_t *name = json_object_get(m, "event");
	const json_t *fields = json_object_get(m, "fields");
	size_t shown = 0;
	char why[400];
	for (size_t i = c->tl.n; i > from && shown < MAX_CANDIDATES; i--) {
		const json_t *ev = c->tl.ev[i - 1];
		if (!json_equal((json_t *)name, json_object_get(ev, "event")))
			continue;
		json_t *want = json_pack("{s:O*}", "src", json_object_get(m, "src"));
		if (fields)
			json_object_update(want, (json_t *)fields);
		har_match_explain(want, ev, why, sizeof(why));
		json_decref(want);
		append(buf, size, "%s%s %s at +%.3fs (%s)", shown ? "; " : "",
		       json_string_value(json_object_get(ev, "src")), json_string_value(name),
		       rel_ts(c, ev), why);
		shown++;
	}
	if (shown)
		return;
	append(buf, size, "no \"%s\" event at all; the last events were:", json_string_value(name));
	size_t first = c->tl.n > from + MAX_RECENT ? c->tl.n - MAX_RECENT : from;
	for (size_t i = first; i < c->tl.n; i++)
		append(buf, size, " %s %s at +%.3fs%s",
		       json_string_value(json_object_get(c->tl.ev[i], "src")),
		       json_string_value(json_object_get(c->tl.ev[i], "event")),
		       rel_ts(c, c->tl.ev[i]), i + 1 < c->tl.n ? "," : "");
	if (first == c->tl.n)
		append(buf, size, " (none)");
}

struct find_arg {
	const json_t *match;
	size_t from;
};

/* Stop condition: a matching event is in the timeline. */
static int event_found(struct har_ctx *c, void *arg)
{
	struct find_arg *f = arg;
	return har_timeline_find(&c->tl, f->match, f->from) >= 0;
}

/* {"expect_event": M}: a matching event appears within the deadline. */
static int expect_event(struct har_ctx *c, const json_t *item, int final)
{
	const json_t *m = json_object_get(item, "expect_event");
	int within = opt_ms(item, "within_ms", DEFAULT_WITHIN_MS);
	struct find_arg f = {m, scope_from(c, item, final)};
	char seen[2048] = "";
	int r = har_ctx_wait(c, lh_time_mono_ms() + within, event_found, &f);
	if (r != 0)
		return r == 1 ? 0 : -1;
	char *want = har_match_text(m);
	nearest(c, m, f.from, seen, sizeof(seen));
	har_ctx_failf(c, "expected an event matching %s within %d ms (%s); seen instead: %s",
		      want ? want : "?", within, scope_text(f.from), seen);
	free(want);
	return -1;
}

/* {"expect_absent": M, "for_ms": N}: none appears in scope, watching for
 * N ms more (0: just what has been seen so far). */
static int expect_absent(struct har_ctx *c, const json_t *item, int final)
{
	const json_t *m = json_object_get(item, "expect_absent");
	int for_ms = opt_ms(item, "for_ms", 0);
	struct find_arg f = {m, scope_from(c, item, final)};
	int r = har_ctx_wait(c, lh_time_mono_ms() + for_ms, event_found, &f);
	if (r < 0)
		return -1;
	long i = har_timeline_find(&c->tl, m, f.from);
	if (i < 0)
		return 0;
	char *want = har_match_text(m);
	char *got = json_dumps(c->tl.ev[i], JSON_COMPACT | JSON_PRESERVE_ORDER);
	har_ctx_failf(
	    c, "expected no event matching %s (%s, watching %d ms more), but at +%.3fs: %s",
	    want ? want : "?", scope_text(f.from), for_ms, rel_ts(c, c->tl.ev[i]), got ? got : "?");
	free(want);
	free(got);
	return -1;
}

/* Says the expected count the way a person reads it. */
void har_expect_count_text(const json_t *count, char *out, size_t size)
{
	const json_t *min = json_object_get(count, "min"), *max = json_object_get(count, "max");
	if (json_is_integer(count))
		snprintf(out, size, "exactly %lld", (long long)json_integer_value(count));
	else if (min && max)
		snprintf(out, size, "between %lld and %lld", (long long)json_integer_value(min),
			 (long long)json_integer_value(max));
	else if (min)
		snprintf(out, size, "at least %lld", (long long)json_integer_value(min));
	else if (max)
		snprintf(out, size, "at most %lld", (long long)json_integer_value(max));
	else
		snprintf(out, size, "any number of");
}

/* An exact count or a range, as the schema allows. */
int har_expect_count_ok(const json_t *count, size_t n)
{
	const json_t *min = json_object_get(count, "min"), *max = json_object_get(count, "max");
	if (json_is_integer(count))
		return (json_int_t)n == json_integer_value(count);
	return (!min || (json_int_t)n >= json_integer_value(min)) &&
	       (!max || (json_int_t)n <= json_integer_value(max));
}

/* {"expect_count": M, "count": ..., "within_ms": N}: after N ms (default
 * 0), the number of matching events in scope is as expected. */
static int expect_count(struct har_ctx *c, const json_t *item, int final)
{
	const json_t *m = json_object_get(item, "expect_count");
	const json_t *count = json_object_get(item, "count");
	size_t from = scope_from(c, item, final);
	char want_n[64], seen[1024] = "";
	if (har_ctx_wait(c, lh_time_mono_ms() + opt_ms(item, "within_ms", 0), NULL, NULL) < 0)
		return -1;
	size_t n = har_timeline_count(&c->tl, m, from);
	if (har_expect_count_ok(count, n))
		return 0;
	for (size_t i = from; i < c->tl.n; i++)
		if (har_match_event(m, c->tl.ev[i]))
			append(seen, sizeof(seen), "%s+%.3fs", seen[0] ? ", " : " at ",
			       rel_ts(c, c->tl.ev[i]));
	har_expect_count_text(count, want_n, sizeof(want_n));
	char *want = har_match_text(m);
	har_ctx_failf(c, "expected %s events matching %s (%s), saw %zu%s", want_n,
		      want ? want : "?", scope_text(from), n, seen);
	free(want);
	return -1;
}

/* The earliest (by ts) event in scope matching m with ts >= after, or -1. */
static long earliest_after(const struct har_ctx *c, const json_t *m, size_t from, double after)
{
	long best = -1;
	double best_ts = 0;
	for (size_t i = from; i < c->tl.n; i++) {
		double ts = json_number_value(json_object_get(c->tl.ev[i], "ts"));
		if (ts >= after && (best < 0 || ts < best_ts) && har_match_event(m, c->tl.ev[i])) {
			best = (long)i;
			best_ts = ts;
		}
	}
	return best;
}

/* How far the ordered list is satisfied: the number of leading matchers
 * found in ts order. */
static size_t order_progress(const struct har_ctx *c, const json_t *list, size_t from)
{
	double t = -1e300;
	size_t k;
	for (k = 0; k < json_array_size(list); k++) {
		long i = earliest_after(c, json_array_get(list, k), from, t);
		if (i < 0)
			break;
		t = json_number_value(json_object_get(c->tl.ev[i], "ts"));
	}
	return k;
}

struct order_arg {
	const json_t *list;
	size_t from;
};

/* Stop condition: the whole ordered list is satisfied. */
static int order_done(struct har_ctx *c, void *arg)
{
	struct order_arg *o = arg;
	return order_progress(c, o->list, o->from) == json_array_size(o->list);
}

/* {"expect_order": [M1, M2, ...]}: events matching each, in ts order. */
static int expect_order(struct har_ctx *c, const json_t *item, int final)
{
	struct order_arg o = {json_object_get(item, "expect_order"), scope_from(c, item, final)};
	int within = opt_ms(item, "within_ms", DEFAULT_WITHIN_MS);
	int r = har_ctx_wait(c, lh_time_mono_ms() + within, order_done, &o);
	if (r != 0)
		return r == 1 ? 0 : -1;
	size_t k = order_progress(c, o.list, o.from);
	const json_t *miss = json_array_get(o.list, k);
	long any = har_timeline_find(&c->tl, miss, o.from);
	char *want = har_match_text(miss);
	if (any >= 0)
		har_ctx_failf(c,
			      "expected the events in order, but item %zu (%s) only happened "
			      "before item %zu (at +%.3fs)",
			      k + 1, want ? want : "?", k, rel_ts(c, c->tl.ev[any]));
	else
		har_ctx_failf(c,
			      "expected the events in order within %d ms, but item %zu (%s) "
			      "never happened (%s)",
			      within, k + 1, want ? want : "?", scope_text(o.from));
	free(want);
	return -1;
}

/* One entry point per expectation, for steps and final checks alike. */
int har_expect_run(struct har_ctx *c, const json_t *item, int final)
{
	const char *kind = har_expect_kind(item);
	if (strcmp(kind, "expect_event") == 0)
		return expect_event(c, item, final);
	if (strcmp(kind, "expect_absent") == 0)
		return expect_absent(c, item, final);
	if (strcmp(kind, "expect_count") == 0)
		return expect_count(c, item, final);
	return expect_order(c, item, final);
}
