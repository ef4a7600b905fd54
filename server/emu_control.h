#ifndef EMU_CONTROL_H
#define EMU_CONTROL_H

/* The rest of the control socket's API is in emu_server.h. */

/* Checked before start: --control may only take a free path or replace a
 * stale socket of a dead emulator (a socket nobody listens on), never a
 * file, folder, link or live socket. Returns 0, or -1 after printing what
 * is at the path and what to do. */
int emu_control_check(const char *path);

#endif
