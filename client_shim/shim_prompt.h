/* shim_prompt.h: the human face of lwm2m-client-shim when stdin is a
 * terminal: short commands ("connect", "get_option inner_mtu") and one
 * readable line per event. */
#ifndef SHIM_PROMPT_H
#define SHIM_PROMPT_H
#include <jansson.h>
#include <stdio.h>

/* Turns a typed line into a command object: JSON as is, or "name [arg]"
 * where arg is a JSON object, or the command's main argument (a config
 * file for configure). Returns NULL with a message on a bad line. */
json_t *shim_prompt_parse(const char *line, char *msg, size_t msg_size);
/* lh_event human formatter: "reply connect ok 12.5ms cipher=..." */
void shim_prompt_format(FILE *out, const json_t *event);
/* Prints the prompt. */
void shim_prompt_show(void);

#endif
