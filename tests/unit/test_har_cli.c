/* Unit tests for the harness's command line (shards, seeds, bad values),
 * count expectations and the XML escaping of JUnit reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/har_cli.h"
#include "harness/har_expect.h"
#include "harness/har_results.h"

/* Parses a NULL-terminated argument list. */
static int parse(struct har_cli *cli, const char **args)
{
	int argc = 0;
	while (args[argc])
		argc++;
	return har_cli_parse(cli, argc, (char **)args);
}

static void parses_run_options(void **state)
{
	(void)state;
	struct har_cli cli;
	const char *args[] = {"lwm2m-harness", "run",	"--jobs",   "4",       "--tag",
			      "nat",	       "--tag", "cid",	    "--shard", "2/3",
			      "--seed",	       "99",	"--repeat", "5",       "--emulator",
			      "/x/emu",	       "a",	"b",	    NULL};
	assert_int_equal(parse(&cli, args), 0);
	assert_string_equal(cli.command, "run");
	assert_int_equal(cli.jobs, 4);
	assert_int_equal(cli.ntags, 2);
	assert_int_equal(cli.shard_k, 2);
	assert_int_equal(cli.shard_n, 3);
	assert_int_equal(cli.repeat, 5);
	assert_string_equal(cli.emulator, "/x/emu");
	assert_int_equal(cli.npaths, 2);
	assert_string_equal(cli.paths[1], "b");
	/* A given seed is reproducible: seed + repetition. */
	assert_true(har_cli_item_seed(&cli, "x", 0) == 99);
	assert_true(har_cli_item_seed(&cli, "y", 3) == 102);
	/* The shim defaults to the folder of the running program. */
	assert_non_null(strstr(cli.shim, "/lwm2m-client-shim"));
	har_cli_free(&cli);
}

static void refuses_bad_values(void **state)
{
	(void)state;
	struct har_cli cli;
	const char *shard[] = {"h", "run", "--shard", "3/2", NULL};
	const char *jobs[] = {"h", "run", "--jobs", "0", NULL};
	const char *seed[] = {"h", "run", "--seed", "12x", NULL};
	const char *cmd[] = {"h", "frob", NULL};
	const char *lint[] = {"h", "lint", NULL};
	const char *help[] = {"h", "run", "--help", NULL};
	assert_int_equal(parse(&cli, shard), -1);
	har_cli_free(&cli);
	assert_int_equal(parse(&cli, jobs), -1);
	har_cli_free(&cli);
	assert_int_equal(parse(&cli, seed), -1);
	har_cli_free(&cli);
	assert_int_equal(parse(&cli, cmd), -1);
	har_cli_free(&cli);
	assert_int_equal(parse(&cli, lint), -1);
	har_cli_free(&cli);
	assert_int_equal(parse(&cli, help), 1);
	har_cli_free(&cli);
}

/* --time-warp takes 1..10000 and the internal worker exactly one file. */
static void time_warp_and_worker(void **state)
{
	(void)state;
	struct har_cli cli;
	const char *warp[] = {"h", "run", "--time-warp", "100", NULL};
	const char *zero[] = {"h", "run", "--time-warp", "0", NULL};
	const char *huge[] = {"h", "run", "--time-warp", "10001", NULL};
	const char *worker[] = {"h", "worker", "--results", "d", "a.json", NULL};
	const char *worker2[] = {"h", "worker", "a.json", "b.json", NULL};
	assert_int_equal(parse(&cli, warp), 0);
	assert_int_equal(cli.time_warp, 100);
	har_cli_free(&cli);
	assert_int_equal(parse(&cli, zero), -1);
	har_cli_free(&cli);
	assert_int_equal(parse(&cli, huge), -1);
	har_cli_free(&cli);
	assert_int_equal(parse(&cli, worker), 0);
	assert_int_equal(cli.time_warp, 0);
	har_cli_free(&cli);
	assert_int_equal(parse(&cli, worker2), -1);
	har_cli_free(&cli);
}

static void derived_seeds_differ(void **state)
{
	(void)state;
	struct har_cli cli;
	const char *args[] = {"h", "run", NULL};
	assert_int_equal(parse(&cli, args), 0);
	uint64_t a = har_cli_item_seed(&cli, "a", 0), b = har_cli_item_seed(&cli, "b", 0);
	assert_true(a != b);
	assert_true(har_cli_item_seed(&cli, "a", 0) == a);
	assert_true(har_cli_item_seed(&cli, "a", 1) != a);
	har_cli_free(&cli);
}

static void count_expectations(void **state)
{
	(void)state;
	char text[64];
	json_t *exact = json_integer(2);
	json_t *range = json_pack("{s:i, s:i}", "min", 1, "max", 3);
	json_t *atleast = json_pack("{s:i}", "min", 1);
	assert_true(har_expect_count_ok(exact, 2));
	assert_false(har_expect_count_ok(exact, 3));
	assert_true(har_expect_count_ok(range, 3));
	assert_false(har_expect_count_ok(range, 0));
	assert_true(har_expect_count_ok(atleast, 100));
	har_expect_count_text(exact, text, sizeof(text));
	assert_string_equal(text, "exactly 2");
	har_expect_count_text(range, text, sizeof(text));
	assert_string_equal(text, "between 1 and 3");
	har_expect_count_text(atleast, text, sizeof(text));
	assert_string_equal(text, "at least 1");
	json_decref(exact);
	json_decref(range);
	json_decref(atleast);
}

static void xml_escaping(void **state)
{
	(void)state;
	char *s = har_results_xml_escape("a<b>&\"c\"\x01");
	assert_string_equal(s, "a&lt;b&gt;&amp;&quot;c&quot; ");
	free(s);
}

/* Reads a whole small file into buf. */
static void slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void reports_list_every_verdict(void **state)
{
	(void)state;
	char dir[] = "/tmp/har-test-XXXXXX", path[256], buf[8192], run_id[64], err[128];
	assert_non_null(mkdtemp(dir));
	struct har_scenario sc[3] = {{.name = "a", .file = "x/a.json", .group = "x"},
				     {.name = "b", .file = "x/b.json", .group = "x"},
				     {.name = "c", .file = "x/c.json", .group = "x"}};
	struct har_item items[3] = {
	    {.sc = &sc[0], .res = {.verdict = HAR_PASS, .duration_s = 0.5, .seed = 1}},
	    {.sc = &sc[1],
	     .res = {.verdict = HAR_FAIL, .message = "step 1 <x> & \"y\"", .seed = 2}},
	    {.sc = &sc[2], .res = {.verdict = HAR_SKIP, .message = "no CID", .seed = 3}},
	};
	assert_int_equal(har_results_make_run(dir, run_id, sizeof(run_id), err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, run_id);
	assert_int_equal(har_results_write_junit(path, items, 3, 1.0), 0);
	assert_int_equal(har_results_write_summary(path, run_id, 7, items, 3, 1.0, NULL), 0);
	assert_int_equal(har_results_link_latest(dir, run_id), 0);
	snprintf(path, sizeof(path), "%s/latest/junit.xml", dir);
	slurp(path, buf, sizeof(buf));
	assert_non_null(strstr(buf, "tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""));
	assert_non_null(strstr(buf, "<failure message=\"step 1 &lt;x&gt; &amp; &quot;y&quot;\""));
	assert_non_null(strstr(buf, "<skipped message=\"no CID\"/>"));
	snprintf(path, sizeof(path), "%s/latest/summary.json", dir);
	json_t *sum = json_load_file(path, 0, NULL);
	assert_non_null(sum);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(sum, "counts"), "failed")), 1);
	json_t *b = json_array_get(json_object_get(sum, "scenarios"), 1);
	assert_string_equal(json_string_value(json_object_get(b, "verdict")), "fail");
	assert_string_equal(json_string_value(json_object_get(b, "failure")), "step 1 <x> & \"y\"");
	json_t *c = json_array_get(json_object_get(sum, "scenarios"), 2);
	assert_string_equal(json_string_value(json_object_get(c, "skip_reason")), "no CID");
	json_decref(sum);
	const char *names[] = {"latest/junit.xml", "latest/summary.json", "latest"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, run_id);
	rmdir(path);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_run_options),	  cmocka_unit_test(refuses_bad_values),
	    cmocka_unit_test(derived_seeds_differ),	  cmocka_unit_test(time_warp_and_worker),
	    cmocka_unit_test(count_expectations),	  cmocka_unit_test(xml_escaping),
	    cmocka_unit_test(reports_list_every_verdict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
