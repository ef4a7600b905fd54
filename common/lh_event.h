#ifndef LH_EVENT_H
#define LH_EVENT_H
#include <jansson.h>
#include <stdio.h>

/* Events are one JSON object per line: {"ts":..., "src":..., "event":..., ...}.
 * docs/protocol.md defines the fields. The sink is process-wide: each process
 * writes its events to one stream (a file, or stdout for the harness). */
typedef void (*lh_event_human_fn)(FILE *out, const json_t *event);

/* Sets the JSON-lines stream (NULL: none), the source name put in "src", and
 * optionally a stream plus formatter for one human-readable line per event
 * (none when human_out is NULL). */
void lh_event_init(FILE *json_out, const char *src, FILE *human_out, lh_event_human_fn human);
/* Adds ts/src/event to fields (steals the reference) and writes it, flushed. */
void lh_event_emit(const char *event, json_t *fields);
/* Does anybody read events (a stream, the terminal, a sink)? Lets an
 * emitter skip building an expensive one. */
int lh_event_wanted(void);
/* One more consumer of every event (the emulator's control subscribers),
 * with its context; NULL removes it. */
typedef void (*lh_event_sink_fn)(void *ctx, const json_t *event);
void lh_event_set_sink(lh_event_sink_fn fn, void *ctx);
/* A program with an event loop (the emulator) writes its lines in batches:
 * on, lines are buffered until lh_event_flush, which the emulator calls
 * before each datagram it sends (so whatever led to it is logged before a
 * peer can react) and before its loop waits; off (the default), each line is
 * flushed at once. */
void lh_event_defer_flush(int on);
void lh_event_flush(void);
/* Builds the fields with jansson's json_pack format and emits. */
void lh_event_emitf(const char *event, const char *fmt, ...);

/* The hot path's events (handshakes, Updates): typed fields written straight
 * into the lines, no JSON objects, no printf. A NULL string is JSON null (as
 * json_pack's "s?"); LH_EV_JSON is a JSON text written as is. */
enum lh_ev_kind { LH_EV_STR, LH_EV_INT, LH_EV_BOOL, LH_EV_JSON };
struct lh_ev_field {
	const char *key;
	enum lh_ev_kind kind;
	const char *str;
	long long num;
};
#define LH_EV_S(k, v) ((struct lh_ev_field){(k), LH_EV_STR, (v), 0})
#define LH_EV_I(k, v) ((struct lh_ev_field){(k), LH_EV_INT, NULL, (long long)(v)})
#define LH_EV_B(k, v) ((struct lh_ev_field){(k), LH_EV_BOOL, NULL, (v) ? 1 : 0})
#define LH_EV_J(k, v) ((struct lh_ev_field){(k), LH_EV_JSON, (v), 0})
/* Emits event with n fields: the same lines lh_event_emitf would write,
 * built directly when the streams are the JSON lines and lh_event_human_kv;
 * through jansson otherwise (a sink, another formatter, non-ASCII text). */
void lh_event_emit_fields(const char *event, const struct lh_ev_field *f, size_t n);
/* The usual human line: "14:55:03.123Z handshake_done session=1 peer=..."
 * (strings bare, other values as compact JSON, nulls left out). */
void lh_event_human_kv(FILE *out, const json_t *event);

#endif
