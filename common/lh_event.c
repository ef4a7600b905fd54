#include "lh_event.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "lh_event_int.h"
#include "lh_time.h"

static FILE *g_json_out;
static FILE *g_human_out;
static lh_event_human_fn g_human;
static const char *g_src = "?";
static lh_event_sink_fn g_sink; /* one more consumer of every event */
static void *g_sink_ctx;
static int g_deferred; /* lines are flushed by lh_event_flush, not each */

void lh_event_init(FILE *json_out, const char *src, FILE *human_out, lh_event_human_fn human)
{
	g_json_out = json_out;
	g_src = src;
	g_human_out = human_out;
	g_human = human;
}

/* Is anybody reading events? Building them costs more than writing them. */
int lh_event_wanted(void)
{
	return g_json_out || (g_human && g_human_out) || g_sink;
}

void lh_event_emit(const char *event, json_t *fields)
{
	if (!lh_event_wanted()) {
		json_decref(fields);
		return;
	}
	/* ts, src and event first, so lines read well; fields cannot override them. */
	json_t *obj = json_object();
	json_object_set_new(obj, "ts", json_real(lh_time_wall()));
	json_object_set_new(obj, "src", json_string(g_src));
	json_object_set_new(obj, "event", json_string(event));
	if (fields) {
		json_object_update_missing(obj, fields);
		json_decref(fields);
	}
	if (g_json_out) {
		/* Ordered keys keep lines readable: ts, src, event, then the rest. */
		char *line =
		    json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
		if (line) {
			fprintf(g_json_out, "%s\n", line);
			if (!g_deferred)
				fflush(g_json_out);
			free(line);
		}
	}
	if (g_sink)
		g_sink(g_sink_ctx, obj);
	if (g_human && g_human_out) {
		g_human(g_human_out, obj);
		if (!g_deferred && g_human_out)
			fflush(g_human_out);
	}
	json_decref(obj);
}

void lh_event_set_sink(lh_event_sink_fn fn, void *ctx)
{
	g_sink = fn;
	g_sink_ctx = ctx;
}

void lh_event_defer_flush(int on)
{
	g_deferred = on;
	if (!on)
		lh_event_flush();
}

void lh_event_flush(void)
{
	if (g_json_out)
		fflush(g_json_out);
	if (g_human_out)
		fflush(g_human_out);
}

void lh_event_emitf(const char *event, const char *fmt, ...)
{
	/* Nobody reads: skipped, unless "o" arguments (owned by the pack, which
	 * frees them) must be released. */
	if (!lh_event_wanted() && !strchr(fmt, 'o'))
		return;
	va_list ap;
	va_start(ap, fmt);
	json_error_t err;
	json_t *fields = json_vpack_ex(&err, 0, fmt, ap);
	va_end(ap);
	if (!fields) {
		fields = json_object();
		json_object_set_new(fields, "pack_error", json_string(err.text));
	}
	lh_event_emit(event, fields);
}

int lh_event_streams(struct lh_ev_streams *st)
{
	if (!lh_event_wanted())
		return 0;
	st->json = g_json_out;
	st->human = g_human && g_human_out ? g_human_out : NULL;
	st->src = g_src;
	st->slow = g_sink || (st->human && g_human != lh_event_human_kv);
	return 1;
}

void lh_event_write(FILE *out, const char *line, size_t len)
{
	if (!out)
		return;
	fwrite(line, 1, len, out);
	if (!g_deferred)
		fflush(out);
}

/* Appends " key=value" for one field, compactly. */
static void print_field(FILE *out, const char *key, const json_t *v)
{
	if (json_is_string(v)) {
		fprintf(out, " %s=%s", key, json_string_value(v));
		return;
	}
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	if (text) {
		fprintf(out, " %s=%s", key, text);
		free(text);
	}
}

void lh_event_human_kv(FILE *out, const json_t *event)
{
	if (!out)
		return;
	double ts = json_real_value(json_object_get(event, "ts"));
	time_t secs = (time_t)ts;
	struct tm tm;
	char when[16] = "";
	const char *key;
	json_t *v;
	if (gmtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	/* Z: the time is UTC, whatever the reader's zone. */
	fprintf(out, "%s.%03dZ %s", when, (int)((ts - (double)secs) * 1000),
		json_string_value(json_object_get(event, "event")));
	json_object_foreach((json_t *)event, key, v)
	{
		if (strcmp(key, "ts") && strcmp(key, "src") && strcmp(key, "event") &&
		    !json_is_null(v))
			print_field(out, key, v);
	}
	fputc('\n', out);
}
