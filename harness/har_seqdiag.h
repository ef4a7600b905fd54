#ifndef HAR_SEQDIAG_H
#define HAR_SEQDIAG_H
#include <jansson.h>
#include <stdio.h>

/* The sequence diagram of one scenario's timeline, as inline SVG: three
 * lanes (client, network simulator, emulator), one row per event that
 * says something about the exchange (datagrams and TCP chunks as arrows,
 * with their record type and what the simulator did to them; handshake,
 * CoAP and registration events as notes; the harness's steps as
 * separators). */

/* Writes the diagram of events (a JSON array of timeline events, in
 * order) to f, at most max_rows rows; fail_step (0-based, or -1) is the
 * step to mark as the failing one. Returns how many events that would
 * have been drawn were cut. */
size_t har_seqdiag_write(FILE *f, const json_t *events, size_t max_rows, long fail_step);

/* Writes text to f with HTML/XML special characters escaped (also
 * control characters, which are replaced by spaces). */
void har_html_esc(FILE *f, const char *text);

#endif
