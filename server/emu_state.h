#ifndef EMU_STATE_H
#define EMU_STATE_H

struct emu_server;

/* Graceful restart (--state FILE): on SIGTERM the established sessions
 * (mbedtls_ssl_context_save) and the registrations are written to FILE
 * (mode 0600: it holds session keys); on start they are read back and the
 * file is removed, so a CID client keeps talking without a new handshake.
 * Without --state a restart loses everything, as a real restart does. */

/* Writes the state file. Returns 0 or -1 (event + stderr say why). */
int emu_state_save(struct emu_server *srv, const char *path);
/* Restores from the state file if it exists. Returns 0 (also when there is
 * no file), or -1 when the file exists but cannot be used. */
int emu_state_load(struct emu_server *srv, const char *path);
/* Checked before start: the file (if any) and its folder must be this
 * user's and not writable by others. Returns 0, or -1 (stderr names the
 * path and why). */
int emu_state_check(const char *path);

#endif
