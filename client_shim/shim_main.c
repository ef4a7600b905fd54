/* lwm2m-client-shim: a small LwM2M client over a (D)TLS socket layer, driven
 * by JSON-lines commands on stdin (docs/protocol.md), or by hand. */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_shim/shim_cmd.h"
#include "client_shim/shim_layer.h"
#include "client_shim/shim_prompt.h"
#include "client_shim/shim_reply.h"
#include "lh_event.h"

#define LINE_MAX_BYTES 65536
#define SHIM_VERSION "0.1.0"

typedef struct {
	const char *layer;
	const char *events;
} shim_args_t;

static FILE *g_events_file;

/* Writes an event as a JSON line to the --events file (second sink). */
static void events_file_json(FILE *out, const json_t *ev)
{
	char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));

	if (line)
		fprintf(out, "%s\n", line);
	free(line);
}

/* Usage on stdout for --help, on stderr for mistakes. */
static void usage(FILE *out)
{
	fprintf(out,
		"usage: lwm2m-client-shim [--layer PATH.so] [--events FILE]\n"
		"       lwm2m-client-shim --help | --version\n"
		"  Reads JSON-lines commands on stdin, writes replies and events as JSON\n"
		"  lines on stdout (a readable line each when stdin is a terminal).\n"
		"  --layer PATH.so  use this socket layer instead of the built-in Mbed TLS one\n"
		"  --events FILE    also write every event as JSON lines to FILE\n"
		"  Over DTLS, CoAP messages are sized to the layer's INNER_MTU (larger\n"
		"  bodies go block-wise); config extra_objects enlarges the Register.\n"
		"  Type 'help' for the commands (docs/protocol.md for the config).\n");
}

/* --help and --version win wherever they are, even after a mistake, as
 * the other two programs do: a first user asks before getting it right. */
static void help_or_version(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("lwm2m-client-shim %s (socket-layer ABI %d)\n", SHIM_VERSION,
			       SL_ABI_VERSION);
			exit(0);
		}
	}
}

/* Parses the command line; exit status 2 on a mistake. */
static int parse_args(int argc, char **argv, shim_args_t *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	help_or_version(argc, argv);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(argv[i], "--layer") && i + 1 < argc)
			a->layer = argv[++i];
		else if (!strcmp(argv[i], "--events") && i + 1 < argc)
			a->events = argv[++i];
		else {
			fprintf(stderr, "lwm2m-client-shim: unknown or incomplete argument '%s'\n",
				argv[i]);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

/* JSON to stdout for the harness; readable lines when a person types. */
static int setup_events(const shim_args_t *a, int interactive)
{
	if (a->events) {
		g_events_file = fopen(a->events, "a");
		if (!g_events_file) {
			fprintf(stderr, "lwm2m-client-shim: cannot open events file %s: %s\n",
				a->events, strerror(errno));
			return -1;
		}
	}
	if (interactive)
		lh_event_init(g_events_file, "shim", stdout, shim_prompt_format);
	else
		lh_event_init(stdout, "shim", g_events_file,
			      g_events_file ? events_file_json : NULL);
	return 0;
}

/* Runs every complete line in buf; keeps the partial tail. */
static size_t run_lines(shim_cmd_state_t *st, char *buf, size_t len, int interactive)
{
	char msg[256], *nl, *start = buf;
	json_t *cmd;

	while (!st->quit && (nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
		*nl = 0;
		if (!interactive) {
			shim_cmd_line(st, start);
		} else if ((cmd = shim_prompt_parse(start, msg, sizeof(msg)))) {
			st->line++;
			shim_cmd_run(st, cmd);
			json_decref(cmd);
		} else if (*start) {
			fprintf(stdout, "error: %s (type help)\n", msg);
		}
		start = nl + 1;
		if (interactive && !st->quit)
			shim_prompt_show();
	}
	memmove(buf, start, len - (size_t)(start - buf));
	return len - (size_t)(start - buf);
}

/* Answers an over-long line (as an error reply, or a plain message at the
 * prompt): its bytes are dropped up to its newline, never run. */
static void refuse_long_line(shim_cmd_state_t *st, int interactive)
{
	sl_error_t err;
	json_t *fields;

	st->line++;
	if (interactive) {
		fprintf(stdout, "error: line %ld longer than %d bytes, ignored up to its end\n",
			st->line, LINE_MAX_BYTES);
		return;
	}
	shim_reply_err_set(&err, EMSGSIZE,
			   "line %ld: longer than %d bytes; ignored up to its end (one JSON "
			   "object per line, each under %d bytes)",
			   st->line, LINE_MAX_BYTES, LINE_MAX_BYTES);
	fields = json_object();
	shim_reply_add_error(fields, &err);
	shim_reply_send(NULL, NULL, 0, 0, fields);
}

/* While the tail of an over-long line is still coming, drops bytes up to
 * and including its newline; returns how many bytes of buf remain. */
static size_t skip_tail(int *skipping, char *buf, size_t len)
{
	char *nl;

	if (!*skipping)
		return len;
	nl = memchr(buf, '\n', len);
	if (!nl)
		return 0;
	*skipping = 0;
	len -= (size_t)(nl + 1 - buf);
	memmove(buf, nl + 1, len);
	return len;
}

/* Reads stdin when readable; returns -1 at EOF. A line that fills the
 * buffer without a newline is refused once and its rest discarded, so no
 * part of it ever runs as a command. */
static int read_stdin(shim_cmd_state_t *st, char *buf, size_t *len, int *skipping, int interactive)
{
	ssize_t n = read(0, buf + *len, LINE_MAX_BYTES - *len);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		if (*len && !*skipping) {
			buf[(*len)++] = '\n';
			*len = run_lines(st, buf, *len, interactive);
		}
		return -1;
	}
	*len = skip_tail(skipping, buf, *len + (size_t)n);
	*len = run_lines(st, buf, *len, interactive);
	if (*len == LINE_MAX_BYTES) {
		refuse_long_line(st, interactive);
		*skipping = 1;
		*len = 0;
	}
	return 0;
}

/* Serves stdin and the connection until quit or EOF. */
static void main_loop(shim_cmd_state_t *st, int interactive)
{
	static char buf[LINE_MAX_BYTES + 1];
	struct pollfd pfd = {.fd = 0, .events = POLLIN};
	size_t len = 0;
	int skipping = 0; /* inside the tail of an over-long line */

	if (interactive)
		shim_prompt_show();
	while (!st->quit) {
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) <= 0) {
			shim_client_pump(&st->client, 20, NULL);
			shim_cmd_background(st);
			continue;
		}
		if (read_stdin(st, buf, &len, &skipping, interactive))
			break;
	}
}

/* Entry: load the layer, set up the client, serve commands. */
int main(int argc, char **argv)
{
	static shim_cmd_state_t st;
	const sl_vtable_t *vt;
	shim_args_t args;
	char msg[512];
	void *handle = NULL;
	int ret = 2, interactive = isatty(0);

	signal(SIGPIPE, SIG_IGN);
	if (parse_args(argc, argv, &args) || setup_events(&args, interactive))
		return 2;
	vt = shim_layer_load(args.layer, &handle, msg, sizeof(msg));
	if (!vt) {
		fprintf(stderr, "lwm2m-client-shim: %s\n", msg);
		goto exit;
	}
	ret = 1;
	if (shim_client_init(&st.client, vt))
		goto exit;
	if (interactive)
		fprintf(stderr, "lwm2m-client-shim (layer %s). Type help.\n", vt->name);
	main_loop(&st, interactive);
	shim_client_close(&st.client);
	ret = 0;
exit:
	shim_client_free(&st.client);
	if (handle)
		dlclose(handle);
	if (g_events_file)
		fclose(g_events_file);
	return ret;
}
