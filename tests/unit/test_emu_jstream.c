/* Unit tests for the config file's streaming reader (emu_jstream.c): a file
 * gives the same config as its jansson tree, syntax errors keep jansson's
 * line, column and text, $.psk errors name their element, and the $.psk
 * array is never held whole (the heap in use while its last element is
 * applied is checked against what the tree would take). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/emu_config.h"
#include "server/emu_jstream.h"

/* Writes text to a new temporary file; path is its mkstemp template. */
static void write_file(char *path, const char *text)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Loads text as a config file; returns emu_config_load_file's result. */
static int load_text(const char *text, struct emu_config *cfg, char *err, size_t size)
{
	char path[] = "/tmp/test_emu_jstream_XXXXXX";
	write_file(path, text);
	emu_config_defaults(cfg);
	int ret = emu_config_load_file(cfg, path, err, size);
	unlink(path);
	return ret;
}

/* The effective config of a file, read by the streaming reader and by a
 * jansson tree: equal, whatever the order of $.psk among the members. */
static void streamed_file_equals_tree(void **state)
{
	(void)state;
	static const char *const texts[] = {
	    "{\"psk\": [{\"identity\": \"a\", \"key_hex\": \"0011\"}, {\"identity\": \"b\", "
	    "\"key_hex\": \"2233\", \"endpoint\": \"ep-b\"}], \"dtls\": {\"idle_timeout\": 45}}",
	    " {\"dtls\": {\"cid\": {\"enabled\": true, \"length\": 3}},\n\"psk\" :\n[ ] ,"
	    "\"vhosts\": [{\"name\": \"x.example\", \"psk\": [{\"identity\": \"y\", \"key_hex\": "
	    "\"0a0b\"}]}]}\n",
	    "{}",
	    "{\"bind\": \"127.0.0.1\", \"psk\": [{\"identity\": \"\\u00e9t\\u00e9\", "
	    "\"key_hex\": \"ff\"}]}"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct emu_config a, b;
		char err[256] = "";
		json_error_t jerr;
		json_t *tree = json_loads(texts[i], JSON_REJECT_DUPLICATES, &jerr);
		assert_non_null(tree);
		if (load_text(texts[i], &a, err, sizeof(err)) < 0)
			fail_msg("text %zu refused: %s", i, err);
		emu_config_defaults(&b);
		assert_int_equal(emu_config_apply_json(&b, tree, err, sizeof(err)), 0);
		json_t *ja = emu_config_to_json(&a), *jb = emu_config_to_json(&b);
		assert_true(json_equal(ja, jb));
		assert_int_equal(a.psk.count, b.psk.count);
		json_decref(ja);
		json_decref(jb);
		json_decref(tree);
		emu_config_free(&a);
		emu_config_free(&b);
	}
}

/* Broken files: the message is jansson's for the same bytes, wherever the
 * fault is (inside $.psk, after it, a repeated member, trailing bytes). */
static void syntax_errors_are_jansson_s(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "{\"psk\": [{\"identity\": \"a\", \"key_hex\": \"00\"},\n {\"identity\" \"b\"}]}",
	    "{\"psk\": [{\"identity\": \"a\", \"key_hex\": \"00\"}],\n \"dtls\": {oops}}",
	    "{\"psk\": [], \"psk\": []}",
	    "{\"dtls\": {}, \"dtls\": {}}",
	    "{\"psk\": [{\"identity\": \"a\", \"identity\": \"b\"}]}",
	    "{\"psk\": []} x",
	    "{\"psk\": [1,]}",
	    "{\"psk\": [",
	    "",
	    "{\"dtls\" 5}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct emu_config cfg;
		char err[256] = "", want[256], path[] = "/tmp/test_emu_jstream_XXXXXX";
		json_error_t jerr;
		write_file(path, bad[i]);
		assert_null(json_load_file(path, JSON_REJECT_DUPLICATES, &jerr));
		snprintf(want, sizeof(want), "%s:%d:%d: %s", path, jerr.line, jerr.column,
			 jerr.text);
		emu_config_defaults(&cfg);
		assert_int_equal(emu_config_load_file(&cfg, path, err, sizeof(err)), -1);
		unlink(path);
		assert_string_equal(err, want);
		emu_config_free(&cfg);
	}
}

/* A bad element names its index; a later syntax error still comes first;
 * a non-object document and a $.psk that is no array keep their messages. */
static void element_errors_name_the_element(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"{\"psk\": [{\"identity\": \"a\", \"key_hex\": \"00\"}, {\"identity\": \"b\", "
	     "\"key_hex\": \"zz\"}]}",
	     "$.psk[1]: key must be"},
	    {"{\"psk\": [{\"identity\": \"a\", \"key_hex\": \"00\", \"colour\": 1}]}", "$.psk[0]"},
	    {"{\"psk\": [{\"identity\": \"a\", \"key_hex\": \"zz\"}], \"dtls\": [}", ":1:"},
	    {"[1, 2]", "$: expected a JSON object"},
	    {"{\"psk\": 5}", "$.psk: expected an array"},
	    {"{\"psk\": {\"identity\": \"a\"}}", "$.psk: expected an array"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct emu_config cfg;
		char err[256] = "";
		assert_int_equal(load_text(cases[i].text, &cfg, err, sizeof(err)), -1);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err, cases[i].want);
		emu_config_free(&cfg);
	}
}

/* What the callback sees and when it stops. */
struct seen {
	size_t calls, stop_at;
	size_t heap_peak; /* bytes in use on the heap during a call, at most */
};

/* Records an element; fails at stop_at. */
static int record(void *ctx, size_t index, const json_t *item)
{
	struct seen *s = ctx;
	struct mallinfo2 mi = mallinfo2();
	assert_int_equal(index, s->calls);
	assert_true(json_is_object(item));
	s->calls++;
	if (mi.uordblks + mi.hblkhd > s->heap_peak)
		s->heap_peak = mi.uordblks + mi.hblkhd;
	return index == s->stop_at ? -1 : 0;
}

/* n entries of {identity, key_hex} as a file at path, after "bind". */
static size_t write_many(char *path, size_t n)
{
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("{\"bind\": \"127.0.0.1\", \"psk\": [", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s{\"identity\": \"dev%07zu\", \"key_hex\": \"%032x\"}", i ? ", " : "",
			i, (unsigned)i);
	fputs("], \"dtls\": {\"idle_timeout\": 30}}\n", f);
	long size = ftell(f);
	fclose(f);
	return (size_t)size;
}

/* Elements come one at a time and in order; the other members stay in the
 * tree, the streamed one does not; a failing callback is not called again
 * and the status says so. The heap in use while elements are handed over
 * stays below twice the file's size: the whole $.psk tree would take about
 * seven times it (~500 B of jansson per ~70 B entry). */
static void elements_come_one_at_a_time(void **state)
{
	(void)state;
	char path[] = "/tmp/test_emu_jstream_XXXXXX";
	size_t n = 50000, size = write_many(path, n);
	struct mallinfo2 before = mallinfo2();
	size_t base = before.uordblks + before.hblkhd, grew;
	struct seen s = {.stop_at = SIZE_MAX};
	json_t *root = NULL;
	json_error_t jerr;
	assert_int_equal(emu_jstream_load(path, "psk", record, &s, &root, &jerr), EMU_JSTREAM_OK);
	assert_int_equal(s.calls, n);
	assert_non_null(json_object_get(root, "bind"));
	assert_non_null(json_object_get(root, "dtls"));
	assert_null(json_object_get(root, "psk"));
	grew = s.heap_peak > base ? s.heap_peak - base : 0; /* 0 under ASan's allocator */
	print_message("# %zu elements, file %zu B, heap in use at most %zu B over %zu B\n", n, size,
		      grew, base);
	assert_true(grew < 2 * size);
	json_decref(root);
	s = (struct seen){.stop_at = 3};
	assert_int_equal(emu_jstream_load(path, "psk", record, &s, &root, &jerr),
			 EMU_JSTREAM_CALLBACK);
	assert_int_equal(s.calls, 4);
	assert_null(root);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(streamed_file_equals_tree),
	    cmocka_unit_test(syntax_errors_are_jansson_s),
	    cmocka_unit_test(element_errors_name_the_element),
	    cmocka_unit_test(elements_come_one_at_a_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
