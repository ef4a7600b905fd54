/* libFuzzer target: the emulator's config loader as `--config FILE` runs it
 * (emu_config_load_file: JSON syntax, strict keys, types, ranges, PSKs,
 * ciphersuite names; $.psk streamed, emu_jstream.c, which must accept and
 * refuse exactly what jansson does), then the cross-field checks and --print-config. The
 * input is written to a memfd so the real file path code is used.
 * FUZZ_CONFIG_NO_PRINT=1 leaves out emu_config_to_json, to explore the
 * loader while a bug in the printer is open. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu_config.h"
#include "emu_jstream.h"

static int g_fd = -1;
static char g_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One in-memory file, rewritten for every input. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (g_fd < 0)
		abort();
	snprintf(g_path, sizeof(g_path), "/proc/self/fd/%d", g_fd);
	return 0;
}

/* Replaces the memfd's content with the input. */
static int write_input(const uint8_t *data, size_t size)
{
	if (ftruncate(g_fd, 0) < 0)
		return -1;
	return pwrite(g_fd, data, size, 0) == (ssize_t)size ? 0 : -1;
}

/* Takes every $.psk element (the reader's verdict is what is checked). */
static int take(void *ctx, size_t index, const json_t *item)
{
	(void)ctx;
	(void)index;
	(void)item;
	return 0;
}

/* The streaming reader (emu_jstream.c) and jansson agree on every input:
 * an object jansson takes, the reader takes; what jansson refuses, the
 * reader refuses (with jansson's own message). A disagreement traps. */
static void check_reader(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *whole = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	json_t *root = NULL;
	enum emu_jstream_status st = emu_jstream_load(g_path, "psk", take, NULL, &root, &jerr);
	if (whole ? st != EMU_JSTREAM_OK : st != EMU_JSTREAM_SYNTAX)
		__builtin_trap();
	json_decref(root);
	json_decref(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct emu_config cfg;
	char err[512];
	if (write_input(data, size) < 0)
		abort();
	check_reader(data, size);
	emu_config_defaults(&cfg);
	if (emu_config_load_file(&cfg, g_path, err, sizeof(err)) == 0 &&
	    emu_config_finish(&cfg, err, sizeof(err)) == 0 && !getenv("FUZZ_CONFIG_NO_PRINT")) {
		json_t *out = emu_config_to_json(&cfg);
		if (!out)
			__builtin_trap(); /* every accepted config must print */
		char *text = json_dumps(out, JSON_COMPACT);
		free(text);
		json_decref(out);
	}
	emu_config_free(&cfg);
	return 0;
}
