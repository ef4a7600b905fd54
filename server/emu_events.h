#ifndef EMU_EVENTS_H
#define EMU_EVENTS_H
#include <jansson.h>
#include <stdio.h>

/* Helpers shared by the emitters. */
json_t *emu_alert_json(int level, int description);
void emu_events_human(FILE *out, const json_t *event);

#endif
