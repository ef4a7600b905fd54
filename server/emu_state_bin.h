#ifndef EMU_STATE_BIN_H
#define EMU_STATE_BIN_H
#include <stddef.h>
#include <stdint.h>

/* The binary state file (--state-format binary, emu_state_bin.c): the same
 * content as the JSON one (emu_state.c) for restarts at scale. Hibernated
 * sessions are written as the saved contexts they already are; at shutdown
 * live ones are serialized straight into the file (the same blob, without
 * freeing what the exit frees anyway), so saving is writing blobs in one
 * pass. A restore puts every session back as a hibernated one, so no Mbed
 * TLS context is allocated until a device talks.
 *
 * Layout (integers little-endian):
 *   header: magic "LWEMUST\n", u32 version (1), u32 flags (0),
 *           f64 saved_at (wall clock, s), u64 sessions, u64 registrations
 *   session: u64 id, str8 vhost (empty: default), u8 family (4, 6),
 *            addr (4 or 16 bytes), u16 port, str8 own_cid, str16 identity,
 *            str16 subject, u8 has_lineage + lineage[16], u64 last_order,
 *            str16 context (mbedtls_ssl_context_save)
 *   registration: str8 location, str16 endpoint, nstr16 identity,
 *            nstr16 lwm2m, nstr16 binding, u32 links + str16 each,
 *            u32 lifetime, i64 remaining_ms, u64 session,
 *            u8 has_lineage + lineage[16]
 *   trailer: u64 checksum of everything before it
 * strN: an N-bit length then the bytes; nstr16: length 0xffff = absent.
 * The checksum (4 lanes of multiply-xor over 64-bit words, then a
 * finalizer) detects corruption and edits as the JSON file's SHA-256 does
 * (neither is keyed: the file's 0600 mode is what keeps others out), at a
 * few GB/s where SHA-256 in software would take a third of the 1 s budget
 * of a 100k-session restart by itself. */

#define EMU_STATE_BIN_MAGIC "LWEMUST\n"
#define EMU_STATE_BIN_VERSION 1

struct emu_server;

/* 1 when the file at path starts with the binary magic, 0 when it does not
 * (or is shorter, or cannot be read: the JSON reader then reports it). */
int emu_state_bin_is(const char *path);
/* What a save does to the live DTLS contexts it serializes. */
enum emu_state_mode {
	EMU_STATE_SHUTDOWN = 0, /* left reset (mbedtls_ssl_context_save's), for the teardown */
	EMU_STATE_KEEP = 1,	/* loaded back: they keep running (periodic, restore) */
	EMU_STATE_EXIT = 2	/* consumed: the process exits without tearing them down */
};

/* Writes the binary state file (mode: enum emu_state_mode). Returns 0 or
 * -1 (event + stderr say why). */
int emu_state_bin_save(struct emu_server *srv, const char *path, int mode, const char *trigger);
/* Reads and strictly validates the file: version, checksum, every field's
 * bounds, unique session ids, CIDs and locations, verifiable contexts.
 * Returns 0, or -1 with err naming the record and field at fault. A valid
 * document is kept (its record counters moved on) for the
 * emu_state_bin_load of the same file that follows at start. */
int emu_state_bin_check(const char *path, char *err, size_t err_size);
/* Validates (or takes the document emu_state_bin_check validated, when
 * the file is still that one), then restores every session as a hibernated
 * one and every registration. With rewrite, and when every record came
 * back, the file is then rewritten from that document (counters moved on,
 * state_saved trigger restore). Returns 1 (restored and rewritten), 0
 * (restored; the caller rewrites the file), -1 with err (nothing
 * restored), or -2 (restored, the rewrite failed: event and stderr). */
int emu_state_bin_load(struct emu_server *srv, const char *path, int rewrite, char *err,
		       size_t err_size);
/* The checksum of the layout above. */
uint64_t emu_state_bin_checksum(const uint8_t *buf, size_t len);

#endif
