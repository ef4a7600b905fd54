#ifndef EMU_CONTROL_CMD_H
#define EMU_CONTROL_CMD_H
#include <jansson.h>

struct emu_server;

/* Runs one control request ({"cmd":..., "id":..., args}) and returns the
 * reply object: {"ok":true, "cmd", "id", ...} or {"ok":false, "error",
 * "message"}. *subscribed is set by `subscribe`. */
json_t *emu_control_run(struct emu_server *srv, const json_t *req, int *subscribed);

#endif
