/* shim_prompt.c: typed commands and readable event lines. */
#include "client_shim/shim_prompt.h"

#include <stdlib.h>
#include <string.h>

#include "client_shim/shim_cmd.h"

/* The argument a bare word stands for, per command. */
static const char *main_arg(const char *cmd)
{
	static const struct {
		const char *cmd, *arg;
	} map[] = {{"save_resumption", "path"},
		   {"load_resumption", "path"},
		   {"get_option", "option"},
		   {"wait_request", "timeout_ms"},
		   {"idle", "ms"},
		   {"configure", "config"}};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].cmd, cmd))
			return map[i].arg;
	return NULL;
}

/* A bare word as JSON: a number stays a number, else a string; a
 * configure argument is a file holding the config object. */
static json_t *word_value(const char *cmd, const char *word, char *msg, size_t msg_size)
{
	json_error_t jerr;
	json_t *v;
	char *end;
	long n = strtol(word, &end, 10);

	if (strcmp(cmd, "configure"))
		return *end == 0 && end != word ? json_integer(n) : json_string(word);
	v = json_load_file(word, 0, &jerr);
	if (!v)
		snprintf(msg, msg_size, "%s:%d: %s", word, jerr.line, jerr.text);
	return v;
}

/* Builds the command object from a typed line. */
json_t *shim_prompt_parse(const char *line, char *msg, size_t msg_size)
{
	char name[64], rest[4096] = "";
	const char *arg_name;
	json_error_t jerr;
	json_t *cmd, *v;

	line += strspn(line, " \t");
	if (*line == '{')
		return json_loads(line, 0, &jerr)
			   ?: (snprintf(msg, msg_size, "%s", jerr.text), NULL);
	if (sscanf(line, "%63s %4095[^\n]", name, rest) < 1)
		return NULL;
	if (!shim_cmd_known(name)) {
		snprintf(msg, msg_size, "unknown command \"%s\"", name);
		return NULL;
	}
	cmd = json_pack("{s:s}", "cmd", name);
	if (!cmd || !*rest)
		return cmd;
	if (rest[0] == '{') {
		v = json_loads(rest, 0, &jerr);
		if (!v || json_object_update(cmd, v)) {
			snprintf(msg, msg_size, "%s", v ? "not an object" : jerr.text);
			json_decref(v);
			json_decref(cmd);
			return NULL;
		}
		json_decref(v);
		return cmd;
	}
	arg_name = main_arg(name);
	v = arg_name ? word_value(name, rest, msg, msg_size) : NULL;
	if (!v) {
		if (!arg_name)
			snprintf(msg, msg_size, "%s takes no word argument; give {...} or nothing",
				 name);
		json_decref(cmd);
		return NULL;
	}
	json_object_set_new(cmd, arg_name, v);
	return cmd;
}

/* One line per event: name, then key=value for every other field. */
void shim_prompt_format(FILE *out, const json_t *event)
{
	const char *key;
	json_t *val;
	char *text;

	fprintf(out, "%s", json_string_value(json_object_get(event, "event")) ?: "?");
	json_object_foreach((json_t *)event, key, val)
	{
		if (!strcmp(key, "ts") || !strcmp(key, "src") || !strcmp(key, "event"))
			continue;
		if (!strcmp(key, "help") && json_is_string(val)) {
			fprintf(out, "\n%s", json_string_value(val));
			continue;
		}
		text = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
		fprintf(out, " %s=%s", key, text ? text : "?");
		free(text);
	}
	fputc('\n', out);
}

/* The prompt goes to stderr so stdout stays events only. */
void shim_prompt_show(void)
{
	fputs("shim> ", stderr);
	fflush(stderr);
}
