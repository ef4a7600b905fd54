#ifndef LH_EVENT_INT_H
#define LH_EVENT_INT_H
#include <stddef.h>
#include <stdio.h>

/* Between lh_event.c and lh_event_fast.c only: where the lines of the
 * printf-free path go. */
struct lh_ev_streams {
	FILE *json;	 /* the JSON lines, or NULL */
	FILE *human;	 /* the human lines (lh_event_human_kv's form), or NULL */
	const char *src; /* "src" of every line */
	int slow;	 /* a sink or another human formatter: take the jansson path */
};

/* Fills st; 0 when nobody reads events. */
int lh_event_streams(struct lh_ev_streams *st);
/* Writes one finished line to out (NULL: nothing), flushed unless deferred. */
void lh_event_write(FILE *out, const char *line, size_t len);

#endif
