/* The printf-free path of lh_event.h: the handshake and Update events are
 * written from typed fields into the JSON line and the human line with
 * lh_buf, no jansson objects (a few allocations each) and no printf. The
 * lines are the ones the jansson path writes; anything it cannot do the
 * same way (a sink wants a json_t, non-ASCII text, an overlong line) takes
 * that path instead. */
#include "lh_event.h"

#include <string.h>
#include <time.h>

#include "lh_buf.h"
#include "lh_event_int.h"
#include "lh_time.h"

#define LH_EV_LINE_MAX 4096

/* The fields as a json_t, for the jansson path. */
static json_t *fields_json(const struct lh_ev_field *f, size_t n)
{
	json_t *obj = json_object();
	for (size_t i = 0; i < n; i++) {
		json_t *v;
		if (f[i].kind == LH_EV_INT)
			v = json_integer(f[i].num);
		else if (f[i].kind == LH_EV_BOOL)
			v = json_boolean(f[i].num);
		else if (!f[i].str)
			v = json_null();
		else if (f[i].kind == LH_EV_JSON)
			v = json_loads(f[i].str, JSON_DECODE_ANY, NULL);
		else
			v = json_string(f[i].str);
		json_object_set_new(obj, f[i].key, v ? v : json_null());
	}
	return obj;
}

/* One value as the JSON line has it. */
static void json_value(struct lh_buf *b, const struct lh_ev_field *f)
{
	if (f->kind == LH_EV_INT)
		lh_buf_int(b, f->num);
	else if (f->kind == LH_EV_BOOL)
		lh_buf_cstr(b, f->num ? "true" : "false");
	else if (!f->str)
		lh_buf_cstr(b, "null");
	else if (f->kind == LH_EV_JSON)
		lh_buf_cstr(b, f->str);
	else
		lh_buf_json_str(b, f->str);
}

/* {"ts":...,"src":...,"event":...,fields}: ts in seconds with microseconds. */
static void json_line(struct lh_buf *b, double ts, const char *src, const char *event,
		      const struct lh_ev_field *f, size_t n)
{
	uint64_t us = (uint64_t)(ts * 1e6);
	lh_buf_cstr(b, "{\"ts\":");
	lh_buf_uint(b, us / 1000000, 0);
	lh_buf_char(b, '.');
	lh_buf_uint(b, us % 1000000, 6);
	lh_buf_cstr(b, ",\"src\":");
	lh_buf_json_str(b, src);
	lh_buf_cstr(b, ",\"event\":");
	lh_buf_json_str(b, event);
	for (size_t i = 0; i < n; i++) {
		lh_buf_char(b, ',');
		lh_buf_json_str(b, f[i].key);
		lh_buf_char(b, ':');
		json_value(b, &f[i]);
	}
	lh_buf_cstr(b, "}\n");
}

/* "HH:MM:SS.mmmZ event key=value...": the time of day in UTC, as
 * lh_event_human_kv prints it. */
static void human_line(struct lh_buf *b, double ts, const char *event, const struct lh_ev_field *f,
		       size_t n)
{
	time_t secs = (time_t)ts;
	uint64_t day = (uint64_t)secs % 86400;
	lh_buf_uint(b, day / 3600, 2);
	lh_buf_char(b, ':');
	lh_buf_uint(b, day / 60 % 60, 2);
	lh_buf_char(b, ':');
	lh_buf_uint(b, day % 60, 2);
	lh_buf_char(b, '.');
	lh_buf_uint(b, (uint64_t)((ts - (double)secs) * 1000), 3);
	lh_buf_cstr(b, "Z ");
	lh_buf_cstr(b, event);
	for (size_t i = 0; i < n; i++) {
		if (f[i].kind != LH_EV_INT && f[i].kind != LH_EV_BOOL && !f[i].str)
			continue;
		lh_buf_char(b, ' ');
		lh_buf_cstr(b, f[i].key);
		lh_buf_char(b, '=');
		if (f[i].kind == LH_EV_STR)
			lh_buf_cstr(b, f[i].str);
		else
			json_value(b, &f[i]);
	}
	lh_buf_char(b, '\n');
}

void lh_event_emit_fields(const char *event, const struct lh_ev_field *f, size_t n)
{
	struct lh_ev_streams st;
	char jmem[LH_EV_LINE_MAX], hmem[LH_EV_LINE_MAX];
	struct lh_buf jb, hb;
	if (!lh_event_streams(&st))
		return;
	double ts = lh_time_wall();
	lh_buf_init(&jb, jmem, sizeof(jmem));
	lh_buf_init(&hb, hmem, sizeof(hmem));
	if (st.json)
		json_line(&jb, ts, st.src, event, f, n);
	if (st.human)
		human_line(&hb, ts, event, f, n);
	if (st.slow || jb.full || hb.full || jb.nonascii) {
		lh_event_emit(event, fields_json(f, n));
		return;
	}
	lh_event_write(st.json, jb.p, jb.len);
	lh_event_write(st.human, hb.p, hb.len);
}
