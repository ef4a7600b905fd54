#ifndef LH_ALERT_H
#define LH_ALERT_H
#include <jansson.h>

/* IANA name of a TLS alert description (RFC 5246 §7.2, RFC 8446 §6),
 * e.g. 20 -> "bad_record_mac"; NULL for a value with no name. */
const char *lh_alert_name(int description);
/* The alert object of the event format: {"level":2,"description":20,
 * "name":"bad_record_mac"} ("name" left out when unknown). */
json_t *lh_alert_json(int level, int description);

#endif
