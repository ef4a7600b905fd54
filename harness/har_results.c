#include "har_results.h"

#include <errno.h>
#include <math.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Run folders never collide, even for runs started in the same second. */
int har_results_make_run(const char *results_dir, char *run_id, size_t id_size, char *err,
			 size_t errlen)
{
	char path[2048], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	if (mkdir(results_dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the results folder %s: %s", results_dir,
			 strerror(errno));
		return -1;
	}
	for (int i = 0; i < 100; i++) {
		snprintf(run_id, id_size, i ? "%s-%d-%d" : "%s-%d", stamp, (int)getpid(), i);
		snprintf(path, sizeof(path), "%s/%s", results_dir, run_id);
		if (mkdir(path, 0755) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	snprintf(err, errlen, "cannot create a run folder in %s: %s", results_dir, strerror(errno));
	return -1;
}

#define HAR_NOT_RUN_MSG "not run: interrupted"

/* Nobody needs nanoseconds of a scenario's duration, and 17 digits of
 * binary noise read as precision. */
double har_results_round_us(double seconds)
{
	return round(seconds * 1e6) / 1e6;
}

/* One scenario's entry of summary.json. */
static json_t *summary_item(const struct har_item *it)
{
	if (it->not_run)
		return json_pack("{s:s, s:s, s:s, s:i, s:f, s:I, s:s, s:s}", "name", it->sc->name,
				 "file", it->sc->file, "verdict", "not_run", "repeat", it->repeat,
				 "duration_s", 0.0, "seed", (json_int_t)it->res.seed, "dir",
				 it->dir ? it->dir : "", "skip_reason", HAR_NOT_RUN_MSG);
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:f, s:I, s:s}", "name", it->sc->name, "file",
			      it->sc->file, "verdict", har_verdict_name(it->res.verdict), "repeat",
			      it->repeat, "duration_s", har_results_round_us(it->res.duration_s),
			      "seed", (json_int_t)it->res.seed, "dir", it->dir ? it->dir : "");
	const char *key = it->res.verdict == HAR_SKIP ? "skip_reason" : "failure";
	json_object_set_new(o, key, it->res.message ? json_string(it->res.message) : json_null());
	if (it->res.verdict == HAR_FAIL)
		json_object_set_new(o, "failure_type",
				    json_string(it->res.kind[0] ? it->res.kind : "failure"));
	if (it->res.time_warp > 1) {
		json_object_set_new(o, "time_warp", json_integer(it->res.time_warp));
		json_object_set_new(o, "scenario_time_s",
				    json_real(har_results_round_us(it->res.scenario_s)));
	}
	return o;
}

/* The machine-readable verdicts, one entry per scenario run. */
int har_results_write_summary(const char *run_dir, const char *run_id, uint64_t seed,
			      const struct har_item *items, size_t n, double duration_s,
			      const char *interrupted)
{
	char path[2048];
	size_t counts[3] = {0, 0, 0}, not_run = 0;
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		if (items[i].not_run)
			not_run++;
		else
			counts[items[i].res.verdict]++;
		json_array_append_new(list, summary_item(&items[i]));
	}
	json_t *doc = json_pack(
	    "{s:s, s:I, s:f, s:s?, s:{s:I, s:I, s:I, s:I}, s:o}", "run_id", run_id, "seed",
	    (json_int_t)seed, "duration_s", har_results_round_us(duration_s), "interrupted",
	    interrupted, "counts", "passed", (json_int_t)counts[HAR_PASS], "failed",
	    (json_int_t)counts[HAR_FAIL], "skipped", (json_int_t)counts[HAR_SKIP], "not_run",
	    (json_int_t)not_run, "scenarios", list);
	snprintf(path, sizeof(path), "%s/summary.json", run_dir);
	int rc =
	    doc ? json_dump_file(doc, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | HAR_RESULTS_REAL)
		: -1;
	json_decref(doc);
	return rc;
}

/* Failure messages contain JSON; JUnit XML must stay well-formed. */
char *har_results_xml_escape(const char *text)
{
	size_t len = 0;
	for (const char *p = text; *p; p++)
		len += (*p == '<' || *p == '>') ? 4 : (*p == '&') ? 5 : (*p == '"') ? 6 : 1;
	char *out = malloc(len + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		const char *rep = *p == '<'   ? "&lt;"
				  : *p == '>' ? "&gt;"
				  : *p == '&' ? "&amp;"
				  : *p == '"' ? "&quot;"
					      : NULL;
		if (rep) {
			memcpy(o, rep, strlen(rep));
			o += strlen(rep);
		} else {
			/* Control characters are not allowed in XML 1.0. */
			*o++ = (*p < 0x20 && *p != '\n' && *p != '\t') ? ' ' : (char)*p;
		}
	}
	*o = '\0';
	return out;
}

/* One <testcase>, with <failure> or <skipped> as needed. */
static void junit_case(FILE *f, const struct har_item *it, const char *report)
{
	char *cls = har_results_xml_escape(it->sc->group);
	char *name = har_results_xml_escape(it->sc->name);
	char *msg = it->res.message ? har_results_xml_escape(it->res.message) : NULL;
	char rep[32] = "";
	if (it->repeat > 0)
		snprintf(rep, sizeof(rep), " #%d", it->repeat + 1);
	fprintf(f, "    <testcase classname=\"%s\" name=\"%s%s\" time=\"%.3f\">\n", cls ? cls : "",
		name ? name : "", rep, it->res.duration_s);
	/* type lets CI group failures: timeout, sanitizer, process_exit, ... */
	if (it->not_run)
		fprintf(f, "      <skipped message=\"%s\"/>\n", HAR_NOT_RUN_MSG);
	else if (it->res.verdict == HAR_FAIL)
		fprintf(f, "      <failure message=\"%s\" type=\"%s\">%s</failure>\n",
			msg ? msg : "", it->res.kind[0] ? it->res.kind : "failure", msg ? msg : "");
	else if (it->res.verdict == HAR_SKIP)
		fprintf(f, "      <skipped message=\"%s\"/>\n", msg ? msg : "");
	/* CI shows system-out next to the case: where its diagram is. */
	const char *base = it->dir && strrchr(it->dir, '/') ? strrchr(it->dir, '/') + 1 : "";
	char *ebase = har_results_xml_escape(base);
	fprintf(f, "      <system-out>report: %s#sc-%s</system-out>\n", report ? report : "",
		ebase ? ebase : "");
	fprintf(f, "    </testcase>\n");
	free(ebase);
	free(cls);
	free(name);
	free(msg);
}

/* What CI systems read: one testcase per scenario run. */
int har_results_write_junit(const char *run_dir, const struct har_item *items, size_t n,
			    double duration_s)
{
	char path[2048];
	size_t fails = 0, skips = 0;
	snprintf(path, sizeof(path), "%s/junit.xml", run_dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	for (size_t i = 0; i < n; i++) {
		fails += !items[i].not_run && items[i].res.verdict == HAR_FAIL;
		skips += items[i].not_run || items[i].res.verdict == HAR_SKIP;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
	fprintf(f,
		"  <testsuite name=\"lwm2m-harness\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		"skipped=\"%zu\" time=\"%.3f\">\n",
		n, fails, skips, duration_s);
	snprintf(path, sizeof(path), "%s/report.html", run_dir);
	char *report = har_results_xml_escape(path);
	fprintf(f, "    <properties><property name=\"report\" value=\"%s\"/></properties>\n",
		report ? report : "");
	for (size_t i = 0; i < n; i++)
		junit_case(f, &items[i], report);
	free(report);
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	return fclose(f) == 0 ? 0 : -1;
}

/* rename() makes the switch atomic for concurrent readers. */
int har_results_link_latest(const char *results_dir, const char *run_id)
{
	char tmp[2048], link[2048];
	snprintf(tmp, sizeof(tmp), "%s/.latest-%d", results_dir, (int)getpid());
	snprintf(link, sizeof(link), "%s/latest", results_dir);
	unlink(tmp);
	if (symlink(run_id, tmp) != 0)
		return -1;
	if (rename(tmp, link) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}
