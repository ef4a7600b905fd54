#include "har_seqdiag.h"

#include <stdlib.h>
#include <string.h>

#define LANE_X0 170
#define LANE_DX 300
#define ROW_H 20
#define TOP 44
#define WIDTH 1140
#define LABEL_MAX 72
#define TITLE_MAX 600

enum row_kind { ROW_SKIP, ROW_ARROW, ROW_NOTE, ROW_SEP };

/* One drawn row: an arrow between lanes, a note on a lane, or a separator. */
struct row {
	enum row_kind kind;
	int from, to; /* lanes: 0 client, 1 network simulator, 2 emulator */
	const char *cls;
	char label[LABEL_MAX + 8];
};

/* Scenario text is data: nothing in it may become markup. */
void har_html_esc(FILE *f, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
		switch (*p) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*p < 0x20 && *p != '\n' && *p != '\t' ? ' ' : *p, f);
		}
	}
}

/* The string field key of ev, or "" (missing fields never crash a report). */
static const char *str_of(const json_t *ev, const char *key)
{
	const char *s = json_string_value(json_object_get(ev, key));
	return s ? s : "";
}

/* Appends " key=value" for a field a reader of the diagram wants to see. */
static void add_field(char *label, size_t size, const char *key, const json_t *v)
{
	char val[64];
	size_t len = strlen(label);
	if (json_is_object(v) && json_is_string(json_object_get(v, "name")))
		v = json_object_get(v, "name"); /* an alert: its name */
	if (json_is_string(v))
		snprintf(val, sizeof(val), "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(val, sizeof(val), "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(val, sizeof(val), "%s", json_is_true(v) ? "true" : "false");
	else
		return;
	if (len + 2 < size)
		snprintf(label + len, size - len, " %s=%s", key, val);
}

/* "event k=v k=v", the fields chosen so that a handshake, a CoAP
 * exchange, a registration or a fault reads at a glance. */
static void note_label(struct row *r, const json_t *ev, const char *name)
{
	static const char *const keys[] = {"proto",
					   "addr",
					   "cmd",
					   "ok",
					   "error",
					   "method",
					   "path",
					   "code",
					   "location",
					   "resumed",
					   "cid_negotiated",
					   "alert",
					   "alert_sent",
					   "reason",
					   "kind",
					   "old",
					   "new",
					   "on",
					   "process",
					   "status",
					   "from",
					   "to",
					   "dir",
					   "offset",
					   "verdict",
					   "signal",
					   "mid"};
	snprintf(r->label, sizeof(r->label), "%s", name);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *v = json_object_get(ev, keys[i]);
		if (v && !json_is_null(v))
			add_field(r->label, sizeof(r->label), keys[i], v);
	}
	if (strlen(r->label) > LABEL_MAX)
		strcpy(r->label + LABEL_MAX - 3, "...");
}

/* Colour class of a note from what its event name says. */
static const char *note_class(const char *ev)
{
	static const char *const bad[] = {"fail",   "error", "expired", "dropped", "alert",
					  "closed", "reset", "corrupt", "spoof"};
	static const char *const coap[] = {"register", "update",    "request", "response",
					   "notif",    "bootstrap", "send",    "observe"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(ev, bad[i]))
			return "bad";
	if (strstr(ev, "handshake") || strstr(ev, "hello") || strstr(ev, "session"))
		return "hs";
	for (size_t i = 0; i < sizeof(coap) / sizeof(coap[0]); i++)
		if (strstr(ev, coap[i]))
			return "coap";
	if (strstr(ev, "rebind") || strstr(ev, "address") || strstr(ev, "flow"))
		return "nat";
	return "";
}

/* A record type as a reader knows it; "tls12_cid" is a record with a CID. */
static const char *record_name(const char *rec)
{
	if (strcmp(rec, "tls12_cid") == 0)
		return "record with CID";
	if (strcmp(rec, "application_data") == 0)
		return "application data";
	return rec[0] ? rec : "datagram";
}

/* A datagram or TCP chunk: an arrow, cut short at the simulator when it
 * was dropped or held there. */
static void arrow_row(struct row *r, const json_t *ev, const char *proto)
{
	const char *dir = str_of(ev, "dir"), *act = str_of(ev, "action");
	long long bytes = json_integer_value(json_object_get(ev, "bytes"));
	int c2s = strcmp(dir, "s2c") != 0;
	r->kind = ROW_ARROW;
	r->from = c2s ? 0 : 2;
	r->to = c2s ? 2 : 0;
	r->cls = "";
	const char *what = proto ? proto : record_name(str_of(ev, "record"));
	snprintf(r->label, sizeof(r->label), "%s %lldB", what, bytes);
	if (strcmp(act, "drop") == 0 || strcmp(act, "hold") == 0) {
		r->to = 1;
		r->cls = act[0] == 'd' ? "drop" : "held";
	} else if (strcmp(act, "forward_reordered") == 0) {
		r->from = 1;
		r->cls = "dup";
	} else if (strcmp(act, "duplicate") == 0 || strcmp(act, "delay") == 0) {
		r->cls = "dup";
	}
	if (strcmp(act, "forward") != 0) {
		size_t len = strlen(r->label);
		snprintf(r->label + len, sizeof(r->label) - len, " %s%s%s", act,
			 json_is_string(json_object_get(ev, "reason")) ? ": " : "",
			 str_of(ev, "reason"));
	}
}

/* Events that are bookkeeping, not part of the exchange. */
static int is_noise(const char *src, const char *name)
{
	static const char *const noise[] = {"fd_limit",	    "keylog_enabled", "control_ready",
					    "certificate",  "coap_mtu",	      "command",
					    "control_reply"};
	(void)src;
	for (size_t i = 0; i < sizeof(noise) / sizeof(noise[0]); i++)
		if (strcmp(name, noise[i]) == 0)
			return 1;
	return 0;
}

/* The harness's own events: steps and expectations as separators. */
static void harness_row(struct row *r, const json_t *ev, const char *name, long fail_step)
{
	long idx = (long)json_integer_value(json_object_get(ev, "index"));
	r->kind = ROW_SEP;
	r->cls = "";
	if (strcmp(name, "step") == 0) {
		snprintf(r->label, sizeof(r->label), "step %ld: %s", idx + 1, str_of(ev, "kind"));
		if (idx == fail_step)
			r->cls = "failstep";
	} else if (strcmp(name, "expectation") == 0) {
		snprintf(r->label, sizeof(r->label), "final expectation %ld: %s", idx + 1,
			 str_of(ev, "kind"));
	} else if (strcmp(name, "control") == 0) {
		const json_t *cmd = json_object_get(json_object_get(ev, "command"), "cmd");
		r->kind = ROW_NOTE;
		r->from = r->to = 2;
		snprintf(r->label, sizeof(r->label), "control: %s",
			 json_is_string(cmd) ? json_string_value(cmd) : "?");
	} else {
		note_label(r, ev, name);
	}
}

/* Decides how one timeline event is drawn (or that it is not). */
static void row_of(struct row *r, const json_t *ev, long fail_step)
{
	const char *src = str_of(ev, "src"), *name = str_of(ev, "event");
	memset(r, 0, sizeof(*r));
	if (is_noise(src, name))
		return;
	if (strcmp(src, "harness") == 0) {
		harness_row(r, ev, name, fail_step);
		return;
	}
	if (strcmp(src, "netsim") == 0 && strcmp(name, "datagram") == 0) {
		arrow_row(r, ev, NULL);
		return;
	}
	if (strcmp(src, "netsim") == 0 && strcmp(name, "tcp") == 0 &&
	    json_is_string(json_object_get(ev, "dir")) &&
	    json_is_integer(json_object_get(ev, "bytes"))) {
		arrow_row(r, ev, "TLS/TCP");
		return;
	}
	r->kind = ROW_NOTE;
	r->from = r->to = strcmp(src, "shim") == 0 ? 0 : strcmp(src, "netsim") == 0 ? 1 : 2;
	r->cls = note_class(name);
	note_label(r, ev, strcmp(name, "hello_verify_sent") == 0 ? "HelloVerifyRequest" : name);
}

/* The lanes' titles and lines, drawn once the height is known. */
static void draw_frame(FILE *f, size_t nrows)
{
	static const char *const lanes[] = {"client (shim)", "network simulator", "emulator"};
	int h = TOP + (int)nrows * ROW_H + 10;
	fprintf(f,
		"<svg class=\"seq\" role=\"img\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\">\n<text x=\"8\" y=\"18\" class=\"lane\">time (s)</text>\n",
		WIDTH, h, WIDTH, h);
	for (int l = 0; l < 3; l++)
		fprintf(f,
			"<text x=\"%d\" y=\"18\" class=\"lane\" text-anchor=\"middle\">%s</text>"
			"<line x1=\"%d\" y1=\"26\" x2=\"%d\" y2=\"%d\" class=\"laneline\"/>\n",
			LANE_X0 + l * LANE_DX, lanes[l], LANE_X0 + l * LANE_DX,
			LANE_X0 + l * LANE_DX, h);
}

/* One row at y: the element, its label, and the event as a tooltip. */
static void draw_row(FILE *f, const struct row *r, const json_t *ev, int y, double t)
{
	char *json = json_dumps(ev, JSON_COMPACT);
	if (json && strlen(json) > TITLE_MAX)
		strcpy(json + TITLE_MAX - 3, "...");
	fprintf(f, "<g class=\"row %s\"><title>", r->cls);
	har_html_esc(f, json);
	fprintf(f, "</title><text x=\"8\" y=\"%d\" class=\"t\">%.3f</text>", y + 4, t);
	free(json);
	int x1 = LANE_X0 + r->from * LANE_DX, x2 = LANE_X0 + r->to * LANE_DX;
	if (r->kind == ROW_ARROW) {
		fprintf(f,
			"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"arrow\" "
			"marker-end=\"url(#har-ah)\"/><text x=\"%d\" y=\"%d\" "
			"text-anchor=\"middle\">",
			x1, y, x2 + (x2 > x1 ? -2 : 2), y, (x1 + x2) / 2, y - 3);
	} else if (r->kind == ROW_SEP) {
		fprintf(f,
			"<line x1=\"70\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"sep\"/><text "
			"x=\"%d\" y=\"%d\" class=\"septxt\">",
			y - 8, WIDTH - 10, y - 8, LANE_X0 - 60, y + 4);
	} else {
		fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"3\"/><text x=\"%d\" y=\"%d\">", x1, y,
			x1 + 7, y + 4);
	}
	if (strcmp(r->cls, "drop") == 0)
		fputs("&#x2717; ", f);
	har_html_esc(f, r->label);
	fputs("</text></g>\n", f);
}

/* Bounded: a scenario with thousands of datagrams still gives a page a
 * browser opens at once; what was cut is said below the diagram. */
size_t har_seqdiag_write(FILE *f, const json_t *events, size_t max_rows, long fail_step)
{
	size_t n = json_array_size(events), nrows = 0, cut = 0;
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	double t0 = json_number_value(json_object_get(json_array_get(events, 0), "ts"));
	if (!rows)
		return n;
	for (size_t i = 0; i < n; i++) {
		row_of(&rows[i], json_array_get(events, i), fail_step);
		if (rows[i].kind == ROW_SKIP)
			continue;
		if (nrows < max_rows)
			nrows++;
		else
			cut++;
	}
	draw_frame(f, nrows);
	for (size_t i = 0, k = 0; i < n && k < nrows; i++) {
		const json_t *ev = json_array_get(events, i);
		if (rows[i].kind == ROW_SKIP)
			continue;
		double t = json_number_value(json_object_get(ev, "ts")) - t0;
		draw_row(f, &rows[i], ev, TOP + (int)k++ * ROW_H, t);
	}
	fputs("</svg>\n", f);
	free(rows);
	return cut;
}
