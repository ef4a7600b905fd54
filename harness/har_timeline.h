#ifndef HAR_TIMELINE_H
#define HAR_TIMELINE_H
#include <jansson.h>
#include <stddef.h>

/* The merged timeline of one scenario: every JSON line the emulator, the shim
 * and the network simulator printed, plus the harness's own events, in the
 * order they were read. Written out sorted by "ts". */
struct har_timeline {
	json_t **ev;
	size_t n;
	size_t cap;
};

/* Appends an event (the timeline takes the reference). Returns 0 or -1. */
int har_timeline_add(struct har_timeline *tl, json_t *event);
/* Adds a harness event {"ts","src":"harness","event":name, ...fields}
 * (fields may be NULL; the reference is taken). */
void har_timeline_note(struct har_timeline *tl, const char *name, json_t *fields);
/* Index of the first event at or after from that matches the event matcher,
 * or -1. */
long har_timeline_find(const struct har_timeline *tl, const json_t *match, size_t from);
/* Number of events at or after from that match. */
size_t har_timeline_count(const struct har_timeline *tl, const json_t *match, size_t from);
/* Writes the events sorted by ts (stable) as JSON lines. Returns 0 or -1. */
int har_timeline_write(const struct har_timeline *tl, const char *path);
/* Frees every event. */
void har_timeline_free(struct har_timeline *tl);

#endif
