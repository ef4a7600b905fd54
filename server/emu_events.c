/* Event helpers: TLS alert objects and the one-line human form. */
#include "emu_server.h"

#include <string.h>
#include <time.h>

/* RFC 5246 §7.2 / RFC 8446 §6 alert descriptions. */
const char *emu_alert_name(int description)
{
	switch (description) {
	case 0:
		return "close_notify";
	case 10:
		return "unexpected_message";
	case 20:
		return "bad_record_mac";
	case 22:
		return "record_overflow";
	case 40:
		return "handshake_failure";
	case 42:
		return "bad_certificate";
	case 43:
		return "unsupported_certificate";
	case 44:
		return "certificate_revoked";
	case 45:
		return "certificate_expired";
	case 46:
		return "certificate_unknown";
	case 47:
		return "illegal_parameter";
	case 48:
		return "unknown_ca";
	case 49:
		return "access_denied";
	case 50:
		return "decode_error";
	case 51:
		return "decrypt_error";
	case 70:
		return "protocol_version";
	case 71:
		return "insufficient_security";
	case 80:
		return "internal_error";
	case 90:
		return "user_canceled";
	case 100:
		return "no_renegotiation";
	case 110:
		return "unsupported_extension";
	case 112:
		return "unrecognized_name";
	case 115:
		return "unknown_psk_identity";
	default:
		return "unknown";
	}
}

/* {"level":2,"description":20,"name":"bad_record_mac"}, or null for none. */
json_t *emu_alert_json(int level, int description)
{
	if (level == 0)
		return json_null();
	return json_pack("{s:i, s:i, s:s}", "level", level, "description", description, "name",
			 emu_alert_name(description));
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

/* "14:55:03.123 handshake_done session=1 peer=127.0.0.1:40312 ..." */
void emu_events_human(FILE *out, const json_t *event)
{
	double ts = json_real_value(json_object_get(event, "ts"));
	time_t secs = (time_t)ts;
	struct tm tm;
	char when[16] = "";
	const char *key;
	json_t *v;
	if (gmtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(out, "%s.%03d %s", when, (int)((ts - (double)secs) * 1000),
		json_string_value(json_object_get(event, "event")));
	json_object_foreach((json_t *)event, key, v)
	{
		if (strcmp(key, "ts") && strcmp(key, "src") && strcmp(key, "event") &&
		    !json_is_null(v))
			print_field(out, key, v);
	}
	fputc('\n', out);
	emu_control_publish(event);
}
