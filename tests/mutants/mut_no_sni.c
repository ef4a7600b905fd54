/* mut_no_sni.c: mutant "no-sni": the layer never sends Server Name
 * Indication: the configured override is dropped and a host name given to
 * connect is resolved to its address first (so the TLS library has no name
 * to send, and none to check the certificate against). */
#include "tests/mutants/mut_base.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

/* create() without the SNI override. */
static int no_sni_create(sl_socket_t **out, const sl_config_t *config, sl_error_t *err)
{
	sl_config_t cfg = *config;

	cfg.sni = NULL;
	return mut_ref()->create(out, &cfg, err);
}

/* Replaces a host name by its first numeric address. */
static int numeric_host(const char *host, const char *port, char *out, size_t size)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
	int ret;

	if (mut_is_ip_literal(host)) {
		snprintf(out, size, "%s", host);
		return 0;
	}
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		return EHOSTUNREACH;
	ret = getnameinfo(res->ai_addr, res->ai_addrlen, out, (socklen_t)size, NULL, 0,
			  NI_NUMERICHOST);
	freeaddrinfo(res);
	return ret ? EHOSTUNREACH : 0;
}

/* connect to the address, never to the name. */
static int no_sni_connect(sl_socket_t *sock, const char *host, const char *port, sl_error_t *err)
{
	char numeric[NI_MAXHOST];
	int ret = numeric_host(host, port, numeric, sizeof(numeric));

	if (ret) {
		if (err) {
			memset(err, 0, sizeof(*err));
			err->code = ret;
			snprintf(err->message, sizeof(err->message), "cannot resolve %s", host);
		}
		return ret;
	}
	return mut_ref()->connect(sock, numeric, port, err);
}

/* The loader's entry point: create and connect replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-no-sni");
	vt.create = no_sni_create;
	vt.connect = no_sni_connect;
	return &vt;
}
