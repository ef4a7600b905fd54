#ifndef EMU_SINK_H
#define EMU_SINK_H

struct emu_server;

/* The process has one lh_event sink; the emulator has two in-process
 * consumers of events (control subscribers, HTTP clients). This installs a
 * fan-out to both while either front end is open, and none otherwise (so
 * events nobody reads are not built). Called when one opens or closes. */
void emu_sink_update(struct emu_server *srv);

#endif
