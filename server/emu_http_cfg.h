#ifndef EMU_HTTP_CFG_H
#define EMU_HTTP_CFG_H
#include <jansson.h>
#include <stddef.h>
#include <sys/socket.h>

/* The HTTP API's settings (docs/protocol.md, $.http): where it listens, its
 * bearer token and its bounds, checked when the config is loaded so a typo
 * stops the start with the JSON path or the flag named. */

struct emu_config;

/* "ADDR:PORT", "[V6]:PORT" or a bare "PORT" (then 127.0.0.1: loopback unless
 * asked otherwise) into ss. Numeric addresses only (no DNS). Returns 0, or
 * -1 with err saying what was expected. */
int emu_http_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *err,
			  size_t err_size);
/* Applies $.http ({"listen", "token", "max_clients", "max_body",
 * "sse_max_queue"}); NULL (absent) does nothing. Returns 0 or -1 with err. */
int emu_http_cfg_apply(struct emu_config *cfg, const json_t *o, char *err, size_t err_size);
/* --http ADDR:PORT and --http-token TOKEN. Returns 0 or -1 with err. */
int emu_http_cfg_flag(struct emu_config *cfg, const char *flag, const char *arg, char *err,
		      size_t err_size);
/* $.http for --print-config, or NULL when the API is off. */
json_t *emu_http_cfg_json(const struct emu_config *cfg);

#endif
