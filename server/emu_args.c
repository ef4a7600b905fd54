/* Command-line parsing for lwm2m-emulator: the config file is applied first,
 * then every other flag over it (precedence: flags > file > defaults). */
#include "emu_config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "lh_addr.h"

#ifndef EMU_VERSION
#define EMU_VERSION "0.1.0"
#endif

enum {
	OPT_BIND = 256,
	OPT_COAP_PORT,
	OPT_DTLS_PORT,
	OPT_TLS_PORT,
	OPT_PSK,
	OPT_COOKIES,
	OPT_CID,
	OPT_EVENTS,
	OPT_KEYLOG,
	OPT_CONTROL,
	OPT_CONFIG,
	OPT_PRINT_CONFIG,
	OPT_CERT,
	OPT_KEY,
	OPT_CA,
	OPT_CLIENT_AUTH,
	OPT_STATE,
	OPT_STATE_INTERVAL,
	OPT_MODELS,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option long_opts[] = {
    {"bind", required_argument, NULL, OPT_BIND},
    {"coap-port", required_argument, NULL, OPT_COAP_PORT},
    {"dtls-port", required_argument, NULL, OPT_DTLS_PORT},
    {"tls-port", required_argument, NULL, OPT_TLS_PORT},
    {"psk", required_argument, NULL, OPT_PSK},
    {"cookies", required_argument, NULL, OPT_COOKIES},
    {"cid", required_argument, NULL, OPT_CID},
    {"events", required_argument, NULL, OPT_EVENTS},
    {"keylog", required_argument, NULL, OPT_KEYLOG},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"ca", required_argument, NULL, OPT_CA},
    {"client-auth", required_argument, NULL, OPT_CLIENT_AUTH},
    {"state", required_argument, NULL, OPT_STATE},
    {"state-interval", required_argument, NULL, OPT_STATE_INTERVAL},
    {"models", required_argument, NULL, OPT_MODELS},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* The --help text: every flag, the defaults, and the default PSK. */
static void print_help(FILE *out)
{
	fprintf(
	    out,
	    "usage: lwm2m-emulator [options]\n"
	    "       lwm2m-emulator ctl --control PATH COMMAND [ARGS]   (see 'ctl --help')\n"
	    "\n"
	    "A configurable LwM2M server (DTLS 1.2 + CoAP) for testing LwM2M clients.\n"
	    "\n"
	    "  --config FILE          strict JSON config (docs/protocol.md); flags override it\n"
	    "  --bind ADDR            listen address (default 0.0.0.0)\n"
	    "  --coap-port N|off      plain CoAP over UDP (default 5683; 0 = any free port)\n"
	    "  --dtls-port N|off      CoAP over DTLS (default 5684; 0 = any free port)\n"
	    "  --tls-port N|off       CoAP over TLS/TCP, RFC 8323 (default 5684; skipped\n"
	    "                         with a warning when busy unless given)\n"
	    "  --psk IDENTITY:HEXKEY  add a PSK identity (repeatable)\n"
	    "  --cookies on|off       HelloVerifyRequest cookies (default on)\n"
	    "  --cid LEN|off          DTLS Connection ID length 0..32 to assign (default off)\n"
	    "  --events FILE|-        JSON-lines events to FILE, or '-' for stdout\n"
	    "                         (human lines then go to stderr)\n"
	    "  --keylog FILE          write TLS secrets in NSS key-log format (DANGEROUS)\n"
	    "  --control PATH         control Unix socket (mode 0600)\n"
	    "  --cert FILE, --key FILE  server certificate chain (PEM/DER) and key; without\n"
	    "                         them a self-signed EC P-256 certificate is generated\n"
	    "                         at start and its SHA-256 fingerprint printed\n"
	    "  --ca FILE              CA set for client certificates\n"
	    "  --client-auth MODE     none (default), optional or required\n"
	    "  --state FILE           crash-safe restart: save sessions and registrations to\n"
	    "                         FILE periodically and on SIGTERM, restore it on start\n"
	    "  --state-interval S     seconds between --state saves (default 5; 0: only at\n"
	    "                         SIGTERM)\n"
	    "  --models DIR           OMA DDF XML object models (*.xml) to decode TLV with,\n"
	    "                         over the built-in core objects 0..7; a bad file\n"
	    "                         stops the start (exit 2)\n"
	    "  --print-config         print the effective config as JSON and exit\n"
	    "  --help, --version\n"
	    "\n"
	    "Without any --psk or config PSK the server accepts one default PSK:\n"
	    "  identity \"%s\", key hex %s (the ASCII text \"lwm2m-secret-key\")\n"
	    "\n"
	    "Exit status: 0 after SIGTERM/SIGINT, 2 on bad flags or config, 1 on a runtime\n"
	    "failure such as a port in use.\n",
	    EMU_DEFAULT_PSK_IDENTITY, EMU_DEFAULT_PSK_HEX);
}

/* Parses "N" (0..65535) or "off" into *port. */
static int parse_port(const char *flag, const char *text, int *port, char *err, size_t err_size)
{
	char *end;
	if (strcmp(text, "off") == 0) {
		*port = EMU_PORT_OFF;
		return 0;
	}
	long v = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0' || v < 0 || v > 65535) {
		snprintf(err, err_size, "%s %s: expected a port 0..65535 or 'off'", flag, text);
		return -1;
	}
	*port = (int)v;
	return 0;
}

/* Parses "on"/"off". */
static int parse_onoff(const char *flag, const char *text, int *out, char *err, size_t err_size)
{
	if (strcmp(text, "on") == 0 || strcmp(text, "off") == 0) {
		*out = strcmp(text, "on") == 0;
		return 0;
	}
	snprintf(err, err_size, "%s %s: expected 'on' or 'off'", flag, text);
	return -1;
}

/* Parses --cid LEN|off. */
static int parse_cid(const char *text, struct emu_config *cfg, char *err, size_t err_size)
{
	char *end;
	if (strcmp(text, "off") == 0) {
		cfg->cid_enabled = 0;
		return 0;
	}
	long v = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0' || v < 0 || v > EMU_CID_MAX) {
		snprintf(err, err_size, "--cid %s: expected a length 0..%d or 'off'", text,
			 EMU_CID_MAX);
		return -1;
	}
	cfg->cid_enabled = 1;
	cfg->cid_length = (int)v;
	return 0;
}

/* Parses --state-interval S (0..86400): a bounded range, so a typo is an
 * error rather than crash safety silently switched off. */
static int parse_state_interval(const char *text, struct emu_config *cfg, char *err,
				size_t err_size)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0' || v < 0 || v > 86400) {
		snprintf(err, err_size, "--state-interval %s: expected seconds 0..86400", text);
		return -1;
	}
	cfg->state_interval_s = (uint32_t)v;
	return 0;
}

/* Replaces a string setting with a copy of text. */
static int set_string(char **dst, const char *text, char *err, size_t err_size)
{
	char *copy = strdup(text);
	if (!copy) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

/* Checks --bind is a numeric address (no DNS) and stores it. */
static int parse_bind(const char *text, struct emu_config *cfg, char *err, size_t err_size)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (strlen(text) >= sizeof(cfg->bind) || lh_addr_parse(text, 0, &ss, &len) < 0 ||
	    strchr(text, ']') || (strchr(text, ':') && !strchr(strchr(text, ':') + 1, ':'))) {
		snprintf(err, err_size, "--bind %s: expected a numeric IPv4 or IPv6 address", text);
		return -1;
	}
	snprintf(cfg->bind, sizeof(cfg->bind), "%s", text);
	return 0;
}

/* Applies one flag other than --config/--help/--version. */
static int apply_flag(struct emu_config *cfg, int opt, const char *arg, char *err, size_t err_size)
{
	switch (opt) {
	case OPT_BIND:
		return parse_bind(arg, cfg, err, err_size);
	case OPT_COAP_PORT:
		return parse_port("--coap-port", arg, &cfg->coap_port, err, err_size);
	case OPT_DTLS_PORT:
		return parse_port("--dtls-port", arg, &cfg->dtls_port, err, err_size);
	case OPT_TLS_PORT:
		cfg->tls_port_given = 1;
		return parse_port("--tls-port", arg, &cfg->tls_port, err, err_size);
	case OPT_PSK:
		return emu_config_add_psk_text(cfg, arg, err, err_size);
	case OPT_COOKIES:
		return parse_onoff("--cookies", arg, &cfg->cookies, err, err_size);
	case OPT_CID:
		return parse_cid(arg, cfg, err, err_size);
	case OPT_EVENTS:
		return set_string(&cfg->events, arg, err, err_size);
	case OPT_KEYLOG:
		return set_string(&cfg->keylog, arg, err, err_size);
	case OPT_CONTROL:
		return set_string(&cfg->control, arg, err, err_size);
	case OPT_CERT:
		return set_string(&cfg->cert_file, arg, err, err_size);
	case OPT_KEY:
		return set_string(&cfg->key_file, arg, err, err_size);
	case OPT_CA:
		return set_string(&cfg->ca_file, arg, err, err_size);
	case OPT_STATE:
		return set_string(&cfg->state, arg, err, err_size);
	case OPT_STATE_INTERVAL:
		return parse_state_interval(arg, cfg, err, err_size);
	case OPT_MODELS:
		cfg->models_where = "--models";
		return set_string(&cfg->models_dir, arg, err, err_size);
	case OPT_CLIENT_AUTH:
		cfg->client_auth = emu_config_client_auth(arg);
		if (cfg->client_auth >= 0)
			return 0;
		snprintf(err, err_size, "--client-auth %s: expected none, optional or required",
			 arg);
		return -1;
	case OPT_PRINT_CONFIG:
		cfg->print_config = 1;
		return 0;
	default:
		return 0;
	}
}

/* First pass: --help, --version, --config and unknown flags. */
static enum emu_args_result first_pass(struct emu_config *cfg, int argc, char **argv, FILE *out,
				       char *err, size_t err_size)
{
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			print_help(out);
			return EMU_ARGS_EXIT_OK;
		}
		if (opt == OPT_VERSION) {
			fprintf(out, "lwm2m-emulator %s\n", EMU_VERSION);
			return EMU_ARGS_EXIT_OK;
		}
		if (opt == '?' || opt == ':') {
			snprintf(err, err_size, "%s: unknown option or missing value (see --help)",
				 argv[optind - 1]);
			return EMU_ARGS_ERROR;
		}
		if (opt == OPT_CONFIG && emu_config_load_file(cfg, optarg, err, err_size) < 0)
			return EMU_ARGS_ERROR;
	}
	if (optind < argc) {
		snprintf(err, err_size, "%s: unexpected argument (see --help)", argv[optind]);
		return EMU_ARGS_ERROR;
	}
	return EMU_ARGS_RUN;
}

enum emu_args_result emu_config_parse_args(struct emu_config *cfg, int argc, char **argv, FILE *out,
					   char *err, size_t err_size)
{
	int opt;
	enum emu_args_result r = first_pass(cfg, argc, argv, out, err, err_size);
	if (r != EMU_ARGS_RUN)
		return r;
	optind = 1;
	const char *file = NULL;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == OPT_CONFIG)
			file = optarg;
		if (apply_flag(cfg, opt, optarg, err, err_size) < 0)
			return EMU_ARGS_ERROR;
	}
	if (emu_config_finish(cfg, err, err_size) < 0) {
		/* Same "FILE: $.path: message" form as the loader's errors, which
		 * is what the harness maps to a scenario's $.emulator path. */
		if (file && err[0] == '$') {
			char msg[512];
			snprintf(msg, sizeof(msg), "%s", err);
			snprintf(err, err_size, "%s: %s", file, msg);
		}
		return EMU_ARGS_ERROR;
	}
	return EMU_ARGS_RUN;
}
