/* Unit tests for the harness's command line (shards, seeds, bad values),
 * count expectations and the XML escaping of JUnit reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_run_options),   cmocka_unit_test(refuses_bad_values),
	    cmocka_unit_test(derived_seeds_differ), cmocka_unit_test(count_expectations),
	    cmocka_unit_test(xml_escaping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
