/* shim_option.h: socket-layer options by name, to and from JSON, for the
 * get_option/set_option commands. */
#ifndef SHIM_OPTION_H
#define SHIM_OPTION_H
#include <jansson.h>

#include "client_shim/include/sl_layer.h"

/* Looks up an option by its command name ("inner_mtu"); -1 if unknown. */
int shim_option_from_name(const char *name);
const char *shim_option_name(int opt);
/* A comma-separated list of the names, for error messages and help. */
const char *shim_option_names(void);
/* The JSON value of an option read from a layer. */
json_t *shim_option_to_json(int opt, const sl_option_value_t *v);
/* Converts a JSON value for set_option; DANE records are not handled here.
 * Returns 0, or -1 with a message saying what was expected. */
int shim_option_from_json(int opt, const json_t *j, sl_option_value_t *v, char *msg,
			  size_t msg_size);

#endif
