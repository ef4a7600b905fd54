/* libFuzzer target: the binary state file (--state-format binary,
 * server/emu_state_bin.c) as a restart reads it. emu_state_bin_check
 * (header, every record's bounds and shape, unique ids, CIDs, locations and
 * endpoints, contexts Mbed TLS can load), then, for a file it accepts,
 * emu_state_bin_load into a fresh in-process emulator: the second walk that
 * restores sessions as hibernated ones and registrations with their links
 * (the array shared with the record before when the bytes are equal). The
 * input is the file without its trailer: the target appends the checksum,
 * so mutations reach the records instead of all failing at the checksum.
 * Traps when a refused file's message is empty. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "emu_state_bin.h"
#include "fz_emu.h"

static char g_dir[64], g_path[96];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The file and its folder go with the process. */
static void cleanup(void)
{
	unlink(g_path);
	rmdir(g_dir);
}

/* A private folder for the one state file every input is written to (a
 * real file: the reader refuses to follow links, so no memfd path). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	(void)argc;
	(void)argv;
	snprintf(g_dir, sizeof(g_dir), "%s/fuzz-state-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(g_dir))
		abort();
	snprintf(g_path, sizeof(g_path), "%s/state.bin", g_dir);
	atexit(cleanup);
	return 0;
}

/* data, then its checksum (little-endian), as the file; -1 on error. */
static int write_state(const uint8_t *data, size_t size)
{
	uint64_t sum = emu_state_bin_checksum(data, size);
	uint8_t trailer[8];
	int ok, fd = open(g_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	for (int i = 0; i < 8; i++)
		trailer[i] = (uint8_t)(sum >> (8 * i));
	if (fd < 0)
		return -1;
	ok = (size == 0 || write(fd, data, size) == (ssize_t)size) &&
	     write(fd, trailer, sizeof(trailer)) == (ssize_t)sizeof(trailer);
	close(fd);
	return ok ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	if (size > (1u << 20))
		return 0;
	if (write_state(data, size) < 0)
		abort();
	if (emu_state_bin_check(g_path, err, sizeof(err)) != 0) {
		if (!err[0])
			__builtin_trap();
		return 0;
	}
	struct emu_server *srv = fz_emu_start(0, 8, NULL);
	(void)emu_state_bin_load(srv, g_path, 0, err, sizeof(err));
	fz_emu_stop(srv);
	return 0;
}
