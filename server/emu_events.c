/* Event helpers: TLS alert objects and the one-line human form. */
#include "emu_server.h"
#include "emu_events.h"

#include "lh_alert.h"
#include "lh_event.h"

#include <string.h>
#include <time.h>

/* {"level":2,"description":20,"name":"bad_record_mac"}, or null for none. */
json_t *emu_alert_json(int level, int description)
{
	if (level == 0)
		return json_null();
	return lh_alert_json(level, description);
}

/* "14:55:03.123Z handshake_done session=1 peer=127.0.0.1:40312 ..." */
void emu_events_human(FILE *out, const json_t *event)
{
	lh_event_human_kv(out, event);
}
