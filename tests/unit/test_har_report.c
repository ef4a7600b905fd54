/* Unit tests for the HTML report: failed scenarios first, hostile scenario
 * text escaped, the tshark command with the real port, the sequence
 * diagram's arrows and notes, its row bound, and a run folder with
 * missing or corrupt files still rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/har_report.h"

/* Writes text to dir/name. */
static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Renders run_dir and returns the page (malloc'd). */
static char *render(const char *run_dir)
{
	char err[256], path[512];
	assert_int_equal(har_report_write(run_dir, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/report.html", run_dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 4 << 20);
	size_t n = fread(buf, 1, (4 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Number of occurrences of needle in hay. */
static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static const char summary[] =
    "{\"run_id\":\"r1\",\"seed\":7,\"duration_s\":1.5,\"counts\":{\"passed\":1,\"failed\":1,"
    "\"skipped\":0},\"scenarios\":["
    "{\"name\":\"a-passes\",\"file\":\"a.json\",\"verdict\":\"pass\",\"dir\":\"x/r1/a-passes\","
    "\"duration_s\":0.1,\"seed\":1,\"failure\":null},"
    "{\"name\":\"z-fails\",\"file\":\"<script>alert(1)</script>.json\",\"verdict\":\"fail\","
    "\"dir\":\"x/r1/z-fails\",\"duration_s\":0.2,\"seed\":2,\"failure\":\"z-fails: step 2 of 3 "
    "($.steps[1], client update): expected the reply to match {\\\"ok\\\":true}, but ok: "
    "expected true, got <b>false</b>. Timeline: x\"}]}";

static const char timeline[] =
    "{\"ts\":1.0,\"src\":\"emulator\",\"event\":\"listening\",\"proto\":\"dtls\","
    "\"addr\":\"127.0.0.1:4242\"}\n"
    "{\"ts\":1.1,\"src\":\"harness\",\"event\":\"step\",\"index\":0,\"kind\":\"client "
    "connect\",\"spec\":{}}\n"
    "{\"ts\":1.2,\"src\":\"netsim\",\"event\":\"datagram\",\"dir\":\"c2s\",\"action\":"
    "\"forward\",\"bytes\":101,\"record\":\"handshake\"}\n"
    "{\"ts\":1.3,\"src\":\"emulator\",\"event\":\"hello_verify_sent\"}\n"
    "not json at all\n"
    "{\"ts\":1.4,\"src\":\"netsim\",\"event\":\"datagram\",\"dir\":\"c2s\",\"action\":"
    "\"drop\",\"bytes\":77,\"record\":\"tls12_cid\",\"reason\":\"loss\"}\n"
    "{\"ts\":1.5,\"src\":\"emulator\",\"event\":\"register\",\"code\":\"2.01\","
    "\"location\":\"/rd/<i>\"}\n"
    "{\"ts\":1.6,\"src\":\"harness\",\"event\":\"step\",\"index\":1,\"kind\":\"client "
    "update\",\"spec\":{\"client\":\"update\",\"expect\":{\"ok\":true}}}\n";

/* Makes a fresh run folder under /tmp and returns its path (static). */
static const char *make_run(void)
{
	static char dir[128];
	char sub[256];
	snprintf(dir, sizeof(dir), "/tmp/test_har_report.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/z-fails", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/a-passes", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	return dir;
}

/* Removes what make_run and the tests wrote. */
static void remove_run(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void renders_failure_first_escaped_with_diagram(void **state)
{
	(void)state;
	const char *dir = make_run();
	char sub[256];
	put(dir, "summary.json", summary);
	snprintf(sub, sizeof(sub), "%s/z-fails", dir);
	put(sub, "timeline.jsonl", timeline);
	put(sub, "wire.pcap", "");
	char *html = render(dir);
	/* Failed first in the table, whatever the names' order. */
	char *fail = strstr(html, "href=\"#sc-z-fails\""),
	     *pass = strstr(html, "href=\"#sc-a-passes\"");
	assert_non_null(fail);
	assert_non_null(pass);
	assert_true(fail < pass);
	/* Scenario text is data. */
	assert_null(strstr(html, "<script>alert"));
	assert_null(strstr(html, "<b>false"));
	assert_null(strstr(html, "/rd/<i>"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)"));
	/* The failing step, expected and got, the step's spec. */
	assert_non_null(
	    strstr(html, "<dd class=\"where\">step 2 of 3 ($.steps[1], client update)"));
	assert_non_null(strstr(html, "<dd class=\"got\">ok: expected true, got &lt;b&gt;false"));
	assert_non_null(strstr(html, "{&quot;client&quot;:&quot;update&quot;"));
	/* tshark with the port of the listening event. */
	assert_non_null(strstr(html, "-d dtls.port==4242,coap"));
	/* The diagram: arrows, HelloVerifyRequest, a dropped CID record, the
	 * registration, the failing step marked; the bad line counted. */
	assert_non_null(strstr(html, "<svg class=\"seq\""));
	assert_non_null(strstr(html, "handshake 101B"));
	assert_non_null(strstr(html, "HelloVerifyRequest"));
	assert_non_null(strstr(html, "record with CID 77B drop: loss"));
	assert_non_null(strstr(html, "register code=2.01"));
	assert_int_equal(count(html, "class=\"row failstep\""), 1);
	assert_non_null(strstr(html, "1 lines of timeline.jsonl are not JSON"));
	/* Missing files named; the one present linked; nothing fetched. */
	assert_non_null(strstr(html, "<a href=\"z-fails/wire.pcap\">"));
	assert_non_null(strstr(html, "missing: timeline.jsonl"));
	assert_null(strstr(html, "http"));
	free(html);
	remove_run(dir);
}

static void renders_without_summary(void **state)
{
	(void)state;
	const char *dir = make_run();
	char sub[256];
	put(dir, "summary.json", "{\"scenarios\": [truncated");
	snprintf(sub, sizeof(sub), "%s/z-fails", dir);
	put(sub, "result.json", "{\"verdict\":\"fail\",\"message\":\"broken & gone\"}");
	char *html = render(dir);
	assert_non_null(strstr(html, "summary.json: "));
	assert_non_null(strstr(html, "scenarios taken from the run&#39;s folders"));
	assert_non_null(strstr(html, "a-passes/result.json: "));
	assert_non_null(strstr(html, "broken &amp; gone"));
	assert_non_null(strstr(html, "timeline.jsonl is missing"));
	assert_non_null(strstr(html, "the DTLS port (for tshark) is unknown"));
	free(html);
	remove_run(dir);
}

static void bounds_the_diagram(void **state)
{
	(void)state;
	const char *dir = make_run();
	char sub[256], path[512];
	put(dir, "summary.json", summary);
	snprintf(sub, sizeof(sub), "%s/z-fails", dir);
	snprintf(path, sizeof(path), "%s/timeline.jsonl", sub);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 1000; i++)
		fprintf(f,
			"{\"ts\":%d.5,\"src\":\"netsim\",\"event\":\"datagram\",\"dir\":\"s2c\","
			"\"action\":\"forward\",\"bytes\":%d,\"record\":\"application_data\"}\n",
			i, i);
	fclose(f);
	char *html = render(dir);
	assert_int_equal(count(html, "class=\"arrow\""), HAR_REPORT_MAX_ROWS);
	assert_non_null(strstr(html, "700 more events not drawn"));
	free(html);
	remove_run(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(renders_failure_first_escaped_with_diagram),
	    cmocka_unit_test(renders_without_summary),
	    cmocka_unit_test(bounds_the_diagram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
