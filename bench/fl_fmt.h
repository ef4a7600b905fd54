/* fl_fmt: a fleet device's answer to a Read, Observe or Discover in the
 * Content-Format the server asked for (CoAP Accept, RFC 7252 §5.10.4).
 *
 * The device's data model is deliberately small: every resource of the
 * object instances it registered (the caller checks which) exists and holds
 * one string value (the caller's). A resource path
 * /O/I/R (or /O/I/R/RI) is that value; an instance /O/I holds one resource,
 * 0; an object /O holds instance 0 with resource 0. What a real server
 * needs is that the bytes are valid in the format it asked for: text/plain
 * only for a single resource (LwM2M 1.1 TS Core §7.3), TLV (11542, the
 * LwM2M 1.0 default), SenML JSON (110), SenML CBOR (112) and, for a
 * Discover, link-format (40). Anything else gets 4.06 Not Acceptable. */
#ifndef FL_FMT_H
#define FL_FMT_H

#include <stddef.h>
#include <stdint.h>

#define FL_FMT_TEXT 0
#define FL_FMT_LINK 40
#define FL_FMT_SENML_JSON 110
#define FL_FMT_SENML_CBOR 112
#define FL_FMT_TLV 11542
#define FL_FMT_NONE (-1) /* no Accept in the request */

#define FL_FMT_NOT_ACCEPTABLE (-1) /* answer 4.06 */
#define FL_FMT_BAD_PATH (-2)	   /* not /O[/I[/R[/RI]]]: answer 4.04 */

/* The Content-Format to answer a GET on path with, given its Accept (or
 * FL_FMT_NONE: text/plain for a single resource, TLV otherwise), or one of
 * the two verdicts above. */
int fl_fmt_choose(int32_t accept, const char *path);

/* "/3/0/1" into {3, 0, 1}: the number of ids (1..4, each 0..65535), or -1
 * when path is not /O[/I[/R[/RI]]]. */
int fl_fmt_path(const char *path, unsigned ids[4]);

/* Writes value at path in format cf (from fl_fmt_choose) into out.
 * Returns the length, or 0 when it does not fit or path is not valid. */
size_t fl_fmt_encode(int cf, const char *path, const char *value, uint8_t *out, size_t size);

#endif
