/* Event helpers: TLS alert objects and the one-line human form. */
#include "emu_server.h"
#include "emu_events.h"

#include "lh_alert.h"

#include <string.h>
#include <time.h>

/* {"level":2,"description":20,"name":"bad_record_mac"}, or null for none. */
json_t *emu_alert_json(int level, int description)
{
	if (level == 0)
		return json_null();
	return lh_alert_json(level, description);
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

/* "14:55:03.123Z handshake_done session=1 peer=127.0.0.1:40312 ..." */
void emu_events_human(FILE *out, const json_t *event)
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
