/* shim_resume_file.h: the resumption buffer to and from a file, so that a
 * "reboot" (a new shim process) can continue the previous session. The
 * buffer is opaque to the shim: it belongs to whichever layer filled it. */
#ifndef SHIM_RESUME_FILE_H
#define SHIM_RESUME_FILE_H
#include <jansson.h>

#include "client_shim/shim_client.h"

/* Writes the whole buffer to path (mode 0600, atomically). */
int shim_resume_file_save(shim_client_t *c, const char *path, json_t *fields, sl_error_t *err);
/* Reads path into the buffer (the rest zeroed); bigger than the buffer = error. */
int shim_resume_file_load(shim_client_t *c, const char *path, json_t *fields, sl_error_t *err);

#endif
