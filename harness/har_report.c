#include "har_report.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "har_seqdiag.h"

/* Events read from one timeline at most: bounds memory for a runaway log. */
#define TIMELINE_MAX_EVENTS 100000

/* The files a scenario folder holds after a run, linked from the report. */
static const char *const scenario_files[] = {
    "timeline.jsonl",	   "wire.pcap",		  "keylog.txt",
    "emulator.stdout.log", "emulator.stderr.log", "shim.stdout.log",
    "shim.stderr.log",	   "emulator.json",	  "result.json"};

static const char page_css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:left;vertical-align:top}th{background:#eee}"
    ".v-fail{background:#fdd}.v-skip{background:#ffd}.v-pass{background:#dfd}"
    ".badge{font-weight:bold;padding:0 6px;border-radius:3px}"
    "pre{white-space:pre-wrap;background:#f6f6f6;padding:6px;border:1px solid #ddd}"
    "pre,dd{overflow-wrap:anywhere}"
    ".missing{color:#b00}.notes{color:#b00;font-weight:bold}"
    "section.sc{border-top:2px solid #999;margin-top:1.5em}"
    "svg.seq{font:11px monospace;background:#fff;border:1px solid #ddd}"
    "svg.seq text{paint-order:stroke;stroke:#fff;stroke-width:3px}"
    ".laneline{stroke:#999;stroke-dasharray:4 3}.lane{font-weight:bold}"
    ".arrow{stroke:#333}.drop .arrow{stroke:#c00;stroke-dasharray:3 2}"
    ".drop text,.bad text{fill:#c00}.dup .arrow,.held .arrow{stroke:#d80}"
    ".hs text{fill:#036}.coap text{fill:#070}.nat text{fill:#708}"
    ".sep{stroke:#bbb}.septxt{fill:#555;font-style:italic}"
    ".failstep .sep{stroke:#c00;stroke-width:2}.failstep .septxt{fill:#c00}"
    ".t{fill:#777}dt{font-weight:bold}";

/* Shows only failed scenarios when the box is ticked. */
static const char page_js[] =
    "function harFilter(on){document.querySelectorAll('.sc,.row-pass,.row-skip')"
    ".forEach(function(e){if(!e.classList.contains('v-fail')&&!e.classList.contains("
    "'row-fail'))e.style.display=on?'none':'';});}";

/* Writes a path for href="": percent-encoded, so a name never becomes markup
 * or another URL. */
static void put_href(FILE *f, const char *a, const char *b)
{
	char part[2][1024];
	snprintf(part[0], sizeof(part[0]), "%s", a);
	snprintf(part[1], sizeof(part[1]), "%s", b ? b : "");
	for (int i = 0; i < 2; i++) {
		if (i == 1 && b)
			fputc('/', f);
		for (const unsigned char *p = (unsigned char *)part[i]; *p; p++) {
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
				fputc(*p, f);
			else
				fprintf(f, "%%%02X", *p);
		}
	}
}

/* The string field key of o, or dflt. */
static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

/* One scenario entry from a folder's result.json, for a run whose
 * summary.json is missing or corrupt. */
static json_t *entry_from_folder(const char *run_dir, const char *name, json_t *notes)
{
	char path[4096];
	json_error_t jerr;
	snprintf(path, sizeof(path), "%s/%s/result.json", run_dir, name);
	json_t *res = json_load_file(path, 0, &jerr);
	json_t *e = json_pack("{s:s, s:s, s:s}", "name", name, "dir", name, "verdict",
			      str_or(res, "verdict", "unknown"));
	if (!res)
		json_array_append_new(notes, json_sprintf("%s/result.json: %s", name, jerr.text));
	json_object_set(e, "failure", json_object_get(res, "message"));
	json_object_set(e, "duration_s", json_object_get(res, "duration_s"));
	json_object_set(e, "seed", json_object_get(res, "seed"));
	json_decref(res);
	return e;
}

/* Every sub-folder of the run is a scenario run. */
static json_t *scan_folders(const char *run_dir, json_t *notes)
{
	json_t *list = json_array();
	DIR *d = opendir(run_dir);
	struct dirent *de;
	char path[4096];
	struct stat st;
	if (!d) {
		json_array_append_new(
		    notes, json_sprintf("cannot read the run folder: %s", strerror(errno)));
		return list;
	}
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", run_dir, de->d_name);
		if (de->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		json_array_append_new(list, entry_from_folder(run_dir, de->d_name, notes));
	}
	closedir(d);
	return list;
}

/* summary.json, or what the folders say when it is missing or corrupt. */
static json_t *load_summary(const char *run_dir, json_t *notes)
{
	char path[4096];
	json_error_t jerr;
	snprintf(path, sizeof(path), "%s/summary.json", run_dir);
	json_t *doc = json_load_file(path, 0, &jerr);
	if (json_is_array(json_object_get(doc, "scenarios")))
		return doc;
	json_array_append_new(
	    notes, json_sprintf("summary.json: %s; scenarios taken from the run's folders",
				doc ? "no \"scenarios\" list" : jerr.text));
	json_decref(doc);
	doc = json_object();
	json_object_set_new(doc, "scenarios", scan_folders(run_dir, notes));
	return doc;
}

/* Failed first, then skipped, unknown, passed; by name within each. */
static int verdict_rank(const json_t *e)
{
	const char *v = str_or(e, "verdict", "");
	return strcmp(v, "fail") == 0 ? 0 : strcmp(v, "skip") == 0 ? 1 : strcmp(v, "pass") ? 2 : 3;
}

/* qsort order of the summary table and the sections. */
static int cmp_entries(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int d = verdict_rank(x) - verdict_rank(y);
	return d ? d : strcmp(str_or(x, "name", ""), str_or(y, "name", ""));
}

/* The folder of an entry, relative to the run folder (its last component). */
static const char *entry_base(const json_t *e)
{
	const char *dir = str_or(e, "dir", ""), *slash = strrchr(dir, '/');
	return dir[0] ? (slash ? slash + 1 : dir) : str_or(e, "name", "unnamed");
}

/* Title, counts and the notes about missing or corrupt files. */
static void page_head(FILE *f, const json_t *doc, const json_t *notes, const char *run_dir)
{
	char stamp[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", &tm);
	const json_t *c = json_object_get(doc, "counts");
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<title>lwm2m-harness report ",
	      f);
	har_html_esc(f, str_or(doc, "run_id", run_dir));
	fprintf(f, "</title>\n<style>%s</style>\n<script>%s</script></head><body>\n", page_css,
		page_js);
	fputs("<h1>lwm2m-harness run ", f);
	har_html_esc(f, str_or(doc, "run_id", run_dir));
	fprintf(f,
		"</h1>\n<p id=\"counts\">%lld passed, %lld failed, %lld skipped; seed %lld; "
		"%.3f s; report written %s</p>\n",
		(long long)json_integer_value(json_object_get(c, "passed")),
		(long long)json_integer_value(json_object_get(c, "failed")),
		(long long)json_integer_value(json_object_get(c, "skipped")),
		(long long)json_integer_value(json_object_get(doc, "seed")),
		json_number_value(json_object_get(doc, "duration_s")), stamp);
	for (size_t i = 0; i < json_array_size(notes); i++) {
		fputs("<p class=\"notes\">", f);
		har_html_esc(f, json_string_value(json_array_get(notes, i)));
		fputs("</p>\n", f);
	}
	fputs("<svg width=\"0\" height=\"0\" style=\"position:absolute\"><defs><marker "
	      "id=\"har-ah\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" "
	      "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\"/>"
	      "</marker></defs></svg>\n",
	      f);
}

/* The summary table: one row per scenario run, failed first. */
static void summary_table(FILE *f, json_t **v, size_t n)
{
	fputs("<p><label><input type=\"checkbox\" onclick=\"harFilter(this.checked)\"> only "
	      "failed</label></p>\n<table id=\"summary\"><tr><th>verdict</th><th>scenario</th>"
	      "<th>file</th><th>duration</th><th>seed</th><th>failure / skip reason</th></tr>\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		const char *verdict = str_or(v[i], "verdict", "unknown");
		const char *msg = str_or(v[i], "failure", str_or(v[i], "skip_reason", ""));
		fprintf(f, "<tr class=\"row-%s v-%s\"><td>", verdict, verdict);
		har_html_esc(f, verdict);
		fputs("</td><td><a href=\"#sc-", f);
		put_href(f, entry_base(v[i]), NULL);
		fputs("\">", f);
		har_html_esc(f, str_or(v[i], "name", "?"));
		fputs("</a></td><td>", f);
		har_html_esc(f, str_or(v[i], "file", ""));
		fprintf(f, "</td><td>%.2fs</td><td>%lld</td><td>",
			json_number_value(json_object_get(v[i], "duration_s")),
			(long long)json_integer_value(json_object_get(v[i], "seed")));
		har_html_esc(f, strlen(msg) > 200 ? "(see below)" : msg);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* Reads a timeline (one JSON event per line); counts the lines that are
 * not JSON objects instead of giving up on the file. */
static json_t *load_timeline(const char *path, size_t *bad, int *missing)
{
	FILE *f = fopen(path, "r");
	json_t *events = json_array();
	char *line = NULL;
	size_t cap = 0;
	*bad = 0;
	*missing = f == NULL;
	while (f && json_array_size(events) < TIMELINE_MAX_EVENTS && getline(&line, &cap, f) > 0) {
		json_t *ev = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
		if (json_is_object(ev))
			json_array_append_new(events, ev);
		else {
			json_decref(ev);
			(*bad)++;
		}
	}
	free(line);
	if (f)
		fclose(f);
	return events;
}

/* The port of the emulator's first "listening" event for proto, or 0. */
static int listening_port(const json_t *events, const char *proto)
{
	size_t i;
	const json_t *ev;
	json_array_foreach(events, i, ev)
	{
		const char *addr = str_or(ev, "addr", ""), *colon = strrchr(addr, ':');
		if (strcmp(str_or(ev, "event", ""), "listening") == 0 &&
		    strcmp(str_or(ev, "proto", ""), proto) == 0 && colon)
			return atoi(colon + 1);
	}
	return 0;
}

/* Links to each file of the folder, and the names of the missing ones. */
static void files_block(FILE *f, const char *run_dir, const char *base)
{
	char path[4096];
	struct stat st;
	int missing = 0;
	fputs("<p class=\"files\">files: ", f);
	for (size_t i = 0; i < sizeof(scenario_files) / sizeof(scenario_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", run_dir, base, scenario_files[i]);
		if (stat(path, &st) != 0)
			continue;
		fputs("<a href=\"", f);
		put_href(f, base, scenario_files[i]);
		fprintf(f, "\">%s</a> ", scenario_files[i]);
	}
	for (size_t i = 0; i < sizeof(scenario_files) / sizeof(scenario_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", run_dir, base, scenario_files[i]);
		if (stat(path, &st) == 0)
			continue;
		fprintf(f, "%s%s", missing++ ? ", " : "<br><span class=\"missing\">missing: ",
			scenario_files[i]);
	}
	fputs(missing ? "</span></p>\n" : "</p>\n", f);
}

/* The exact tshark command for this capture, with the real port. */
static void tshark_block(FILE *f, const char *run_dir, const char *base, const json_t *events)
{
	int dtls = listening_port(events, "dtls"), tls = listening_port(events, "tls");
	if (!dtls && !tls) {
		fputs("<p class=\"missing\">no emulator \"listening\" event in the timeline: the "
		      "DTLS port (for tshark) is unknown</p>\n",
		      f);
		return;
	}
	fputs("<p>Decrypt the capture (from the folder the harness ran in):</p>\n", f);
	for (int i = 0; i < 2; i++) {
		int port = i ? tls : dtls;
		if (!port)
			continue;
		fputs("<pre class=\"tshark\">tshark -r '", f);
		har_html_esc(f, run_dir);
		fputc('/', f);
		har_html_esc(f, base);
		fputs("/wire.pcap' -o 'tls.keylog_file:", f);
		har_html_esc(f, run_dir);
		fputc('/', f);
		har_html_esc(f, base);
		if (i)
			fprintf(f, "/keylog.txt' -d tcp.port==%d,tls -d tls.port==%d,coap</pre>\n",
				port, port);
		else
			fprintf(f, "/keylog.txt' -d dtls.port==%d,coap</pre>\n", port);
	}
}

/* The index of the failing step in a failure message ("$.steps[4]"), or -1. */
static long failing_step(const char *msg)
{
	const char *p = msg ? strstr(msg, "$.steps[") : NULL;
	return p ? strtol(p + 8, NULL, 10) : -1;
}

/* Writes msg[from, to) escaped. */
static void esc_span(FILE *f, const char *from, const char *to)
{
	char *s = strndup(from, (size_t)(to - from));
	har_html_esc(f, s);
	free(s);
}

/* The failure: where, what was expected, what came instead, the step's
 * own spec from the timeline, and the whole message. */
static void failure_block(FILE *f, const char *msg, const json_t *events, long step)
{
	const char *where = strstr(msg, ": "), *exp = strstr(msg, "expected");
	const char *but = exp ? strstr(exp, ", but ") : NULL, *end = strstr(msg, ". Timeline: ");
	fputs("<dl class=\"failure\">", f);
	if (where && exp && where < exp) {
		fputs("<dt>failing step</dt><dd class=\"where\">", f);
		esc_span(f, where + 2, exp);
		fputs("</dd>", f);
	}
	if (exp && but) {
		fputs("<dt>expected</dt><dd class=\"expected\">", f);
		esc_span(f, exp + 9, but);
		fputs("</dd><dt>got</dt><dd class=\"got\">", f);
		esc_span(f, but + 6, end && end > but ? end : but + strlen(but));
		fputs("</dd>", f);
	}
	size_t i;
	const json_t *ev;
	json_array_foreach(events, i, ev)
	{
		if (strcmp(str_or(ev, "event", ""), "step") ||
		    json_integer_value(json_object_get(ev, "index")) != step)
			continue;
		char *spec = json_dumps(json_object_get(ev, "spec"), JSON_COMPACT);
		fputs("<dt>the step</dt><dd><code>", f);
		har_html_esc(f, spec);
		fputs("</code></dd>", f);
		free(spec);
		break;
	}
	fputs("<dt>message</dt><dd><pre class=\"message\">", f);
	har_html_esc(f, msg);
	fputs("</pre></dd></dl>\n", f);
}

/* The timeline's sequence diagram, and what was cut or unreadable. */
static void diagram_block(FILE *f, const json_t *events, size_t bad, int missing, long step)
{
	fputs("<h3>sequence</h3>\n", f);
	if (missing) {
		fputs("<p class=\"missing\">timeline.jsonl is missing: no sequence diagram</p>\n",
		      f);
		return;
	}
	if (bad)
		fprintf(f,
			"<p class=\"missing\">%zu lines of timeline.jsonl are not JSON events "
			"(left out)</p>\n",
			bad);
	fputs("<div class=\"seqwrap\">\n", f);
	size_t cut = har_seqdiag_write(f, events, HAR_REPORT_MAX_ROWS, step);
	fputs("</div>\n", f);
	if (cut)
		fprintf(f,
			"<p class=\"cut\">%zu more events not drawn (the diagram stops at %d "
			"rows); the whole run is in timeline.jsonl</p>\n",
			cut, HAR_REPORT_MAX_ROWS);
}

/* One scenario: verdict, failure, files, tshark, diagram. */
static void scenario_section(FILE *f, const char *run_dir, const json_t *e)
{
	char path[4096];
	size_t bad;
	int missing;
	const char *base = entry_base(e), *verdict = str_or(e, "verdict", "unknown");
	const char *msg = str_or(e, "failure", NULL), *skip = str_or(e, "skip_reason", NULL);
	snprintf(path, sizeof(path), "%s/%s/timeline.jsonl", run_dir, base);
	json_t *events = load_timeline(path, &bad, &missing);
	long step = failing_step(msg);
	fprintf(f, "<section class=\"sc v-%s\" id=\"sc-", verdict);
	put_href(f, base, NULL);
	fprintf(f, "\"><details%s><summary><span class=\"badge v-%s\">",
		verdict_rank(e) ? "" : " open", verdict);
	har_html_esc(f, verdict);
	fputs("</span> <b>", f);
	har_html_esc(f, str_or(e, "name", base));
	fputs("</b> ", f);
	har_html_esc(f, str_or(e, "file", ""));
	fprintf(f, " (%.2fs, seed %lld)</summary>\n",
		json_number_value(json_object_get(e, "duration_s")),
		(long long)json_integer_value(json_object_get(e, "seed")));
	if (msg && strcmp(verdict, "fail") == 0)
		failure_block(f, msg, events, step);
	else if (msg || skip) {
		fputs("<p class=\"reason\">", f);
		har_html_esc(f, msg ? msg : skip);
		fputs("</p>\n", f);
	}
	files_block(f, run_dir, base);
	tshark_block(f, run_dir, base, events);
	diagram_block(f, events, bad, missing, step);
	fputs("</details></section>\n", f);
	json_decref(events);
}

/* Writes the whole page to f. */
static void write_page(FILE *f, const char *run_dir)
{
	json_t *notes = json_array();
	json_t *doc = load_summary(run_dir, notes);
	json_t *list = json_object_get(doc, "scenarios");
	size_t n = json_array_size(list);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++)
		v[i] = json_array_get(list, i);
	if (v)
		qsort(v, n, sizeof(*v), cmp_entries);
	page_head(f, doc, notes, run_dir);
	if (v) {
		summary_table(f, v, n);
		for (size_t i = 0; i < n; i++)
			if (json_is_object(v[i]))
				scenario_section(f, run_dir, v[i]);
	}
	fputs("</body></html>\n", f);
	free(v);
	json_decref(doc);
	json_decref(notes);
}

/* Written to a temporary file and renamed, so a reader never sees half a page. */
int har_report_write(const char *run_dir, char *err, size_t errlen)
{
	char tmp[4096], path[4096];
	snprintf(tmp, sizeof(tmp), "%s/.report.html.tmp", run_dir);
	snprintf(path, sizeof(path), "%s/report.html", run_dir);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	write_page(f, run_dir);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
