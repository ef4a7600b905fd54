/* shim_cmd.h: the JSON-lines commands of lwm2m-client-shim
 * (docs/protocol.md): one command object in, exactly one reply event out. */
#ifndef SHIM_CMD_H
#define SHIM_CMD_H
#include "client_shim/shim_client.h"

typedef struct {
	shim_client_t client;
	int quit;
	long line; /* input line number, for error messages */
} shim_cmd_state_t;

/* Parses and runs one input line; always emits exactly one reply. */
void shim_cmd_line(shim_cmd_state_t *st, const char *line);
/* Runs an already-parsed command object. */
void shim_cmd_run(shim_cmd_state_t *st, const json_t *cmd);
/* One line per command, for `help`. */
const char *shim_cmd_help(void);
/* Between commands: what the server asked for that needs a request of
 * the client's own (the Registration Update Trigger's Update). */
void shim_cmd_background(shim_cmd_state_t *st);
/* True when name is one of the commands. */
int shim_cmd_known(const char *name);

#endif
