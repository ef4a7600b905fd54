/* shim_bootstrap.c: Bootstrap-Request, -Finish and the switch of server
 * account (see shim_bootstrap.h). */
#include "client_shim/shim_bootstrap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_shim/shim_lwm2m.h"
#include "client_shim/shim_model.h"
#include "client_shim/shim_ops.h"
#include "client_shim/shim_reply.h"
#include "lh_event.h"

#define BS_OK 1
#define BS_REFUSED (-1)

/* The written /0/1 resource rid, or NULL. */
static const shim_val_t *sec(shim_client_t *c, int rid)
{
	return shim_model_sec1(c->model) ? shim_model_val_at(c->model, 0, 1, rid) : NULL;
}

/* Reads "coaps://HOST:PORT" into cfg (a literal address: no DNS). */
static int take_uri(const shim_val_t *uri, shim_config_t *cfg, char *why, size_t size)
{
	const char *s = (const char *)uri->bytes;

	if (strncmp(s, "coaps://", 8))
		return snprintf(why, size, "/0/1/0 \"%.80s\": expected coaps://HOST:PORT (DTLS)",
				s),
		       -1;
	if (shim_config_split_server(s + 8, cfg))
		return snprintf(why, size, "/0/1/0 \"%.80s\": the host:port does not parse", s), -1;
	return 0;
}

/* Security mode 0: the identity and key go into cfg. */
static int psk_account(shim_client_t *c, shim_config_t *cfg, char *why, size_t size)
{
	const shim_val_t *id = sec(c, 3), *key = sec(c, 5);

	if (!id->len || id->len >= sizeof(cfg->identity) || !key->len ||
	    key->len > sizeof(cfg->key))
		return snprintf(why, size,
				"/0/1/3 identity (1..255 bytes) or /0/1/5 key (1..64 "
				"bytes) missing or too long"),
		       -1;
	cfg->mode = SL_SECURITY_PSK;
	memcpy(cfg->identity, id->bytes, id->len);
	cfg->identity[id->len] = 0;
	memcpy(cfg->key, key->bytes, key->len);
	cfg->key_len = key->len;
	return 0;
}

/* Security mode 2 (certificate): /0/1/3 the device's certificate, /0/1/5
 * its private key, /0/1/4 the server's certificate or trust anchor, all
 * DER; the layer takes files, written at the switch (cert_files). */
static int cert_account(shim_client_t *c, shim_config_t *cfg, char *why, size_t size)
{
	if (!sec(c, 3)->len || !sec(c, 5)->len || !sec(c, 4)->len)
		return snprintf(why, size,
				"certificate mode needs /0/1/3 (device certificate), /0/1/4 "
				"(server certificate or trust anchor) and /0/1/5 (private "
				"key), in DER"),
		       -1;
	cfg->mode = SL_SECURITY_CERTIFICATE;
	cfg->identity[0] = 0;
	cfg->key_len = 0;
	cfg->validation = 1;
	cfg->n_dane = 0;
	return 0;
}

/* Checks the server account /0/1 and fills cfg with it; -1 with why. The
 * configured suites were chosen for the bootstrap account's security: the
 * written account gets the layer's defaults. */
static int account(shim_client_t *c, shim_config_t *cfg, char *why, size_t size)
{
	const shim_val_t *uri = sec(c, 0), *bs = sec(c, 1), *mode = sec(c, 2);

	if (!uri)
		return snprintf(why, size, "no server account: /0/1 was not written"), -1;
	if (bs->num)
		return snprintf(why, size, "/0/1 is a bootstrap server account (/0/1/1 true)"), -1;
	if (mode->num != 0 && mode->num != 2)
		return snprintf(why, size,
				"/0/1/2 security mode %lld: only PSK (0) and certificate (2)",
				mode->num),
		       -1;
	if ((mode->num == 0 ? psk_account(c, cfg, why, size) : cert_account(c, cfg, why, size)) ||
	    take_uri(uri, cfg, why, size))
		return -1;
	if (cfg->mode != c->cfg.mode)
		cfg->n_suites = 0;
	return 0;
}

/* Writes one DER value to dir/name (0600) and names it in path. */
static int cert_file(const char *dir, const char *name, const shim_val_t *v, char *path,
		     size_t size)
{
	int fd;
	ssize_t n;

	if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size)
		return errno = ENAMETOOLONG, -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	n = write(fd, v->bytes, v->len);
	return close(fd) == 0 && n == (ssize_t)v->len ? 0 : -1;
}

/* The layer reads certificates from files: the written ones go to a
 * private directory (mkdtemp), kept while the account is in use (a layer
 * may load them again on a reconnect) and removed by cert_files_remove
 * when the account changes or the client is freed. */
static int cert_files(shim_client_t *c, shim_config_t *cfg, char *dir, size_t size, sl_error_t *err)
{
	snprintf(dir, size, "%s/lwm2m-shim-bs-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		int e = errno;

		dir[0] = 0;
		return shim_reply_err_set(err, e,
					  "cannot create a directory for the written certificates: "
					  "%s",
					  strerror(e));
	}
	if (cert_file(dir, "device.der", sec(c, 3), cfg->client_chain, sizeof(cfg->client_chain)) ||
	    cert_file(dir, "device.key.der", sec(c, 5), cfg->client_key, sizeof(cfg->client_key)) ||
	    cert_file(dir, "server.der", sec(c, 4), cfg->trust_store, sizeof(cfg->trust_store)))
		return shim_reply_err_set(err, errno, "cannot write the certificates to %s: %s",
					  dir, strerror(errno));
	cfg->key_password[0] = 0;
	cfg->crl[0] = 0;
	return 0;
}

/* Removes what cert_files wrote (the private key first of all). */
static void cert_files_remove(char *dir)
{
	static const char *const names[] = {"device.key.der", "device.der", "server.der"};
	char path[600];

	if (!dir[0])
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	dir[0] = 0;
}

void shim_bootstrap_free(shim_client_t *c)
{
	cert_files_remove(c->bs_dir);
}

/* POST /bs from the bootstrap server: 2.04 when the account can be used,
 * 4.06 Not Acceptable with the reason otherwise (LwM2M 1.1 §5.2.7.7). */
static void on_finish(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		      const coap_string_t *query, coap_pdu_t *response)
{
	shim_client_t *c = coap_get_app_data(coap_session_get_context(session));
	shim_config_t cfg = c->cfg;
	int code = 204;

	(void)r;
	(void)request;
	(void)query;
	c->bs_reason[0] = 0;
	if (!c->bootstrapping)
		code =
		    (snprintf(c->bs_reason, sizeof(c->bs_reason), "no bootstrap in progress"), 404);
	else if (account(c, &cfg, c->bs_reason, sizeof(c->bs_reason)))
		code = 406;
	if (c->bootstrapping)
		c->bs_result = code == 204 ? BS_OK : BS_REFUSED;
	coap_pdu_set_code(response, (coap_pdu_code_t)COAP_RESPONSE_CODE(code));
	c->server_requests++;
	shim_ops_served(c, "POST", "bootstrap_finish", "/bs", code, c->bs_reason);
}

/* /bs takes only POST: the Bootstrap-Finish. */
int shim_bootstrap_init(shim_client_t *c)
{
	coap_resource_t *r = coap_resource_init(coap_make_str_const("bs"), 0);

	if (!r)
		return -1;
	coap_register_handler(r, COAP_REQUEST_POST, on_finish);
	coap_add_resource(c->ctx, r);
	return 0;
}

/* Used by the pump: Finish came (either way). */
static int finished(shim_client_t *c)
{
	return c->bs_result != 0 || c->link_failed;
}

/* Bootstrap-Request, then wait for the bootstrap server's Finish. */
static int request_and_wait(shim_client_t *c, long timeout_ms, json_t *f, sl_error_t *err)
{
	char ep[160];
	const char *q[] = {ep, NULL};
	int ret;

	snprintf(ep, sizeof(ep), "ep=%s", c->cfg.endpoint);
	c->bs_result = 0;
	c->bootstrapping = 1;
	ret = shim_lwm2m_raw(c, "POST", "bs", q, NULL, f, err);
	json_object_del(f, "payload");
	if (ret)
		return ret;
	if (!shim_client_pump(c, timeout_ms, finished) || c->bs_result == 0)
		return shim_reply_err_set(err, ETIMEDOUT, "no Bootstrap-Finish within %ld ms",
					  timeout_ms);
	/* The answer to Finish is with libcoap's relay: hand it to the layer
	 * before anything replaces the socket. */
	shim_client_pump(c, -1, NULL);
	shim_client_pump(c, -1, NULL);
	if (c->bs_result == BS_REFUSED)
		return shim_reply_err_set(err, EPROTO, "Bootstrap-Finish refused (4.06): %s",
					  c->bs_reason);
	return 0;
}

/* The switch: a new socket with the written account, connect, Register. */
static int switch_account(shim_client_t *c, json_t *f, sl_error_t *err)
{
	shim_config_t cfg = c->cfg;
	char why[160];
	int ret;

	if (account(c, &cfg, why, sizeof(why)))
		return shim_reply_err_set(err, EPROTO, "%s", why);
	json_object_set_new(f, "server", json_string((const char *)sec(c, 0)->bytes));
	json_object_set_new(f, "mode",
			    json_string(cfg.mode == SL_SECURITY_PSK ? "psk" : "certificate"));
	if (cfg.mode == SL_SECURITY_PSK)
		json_object_set_new(f, "identity", json_string(cfg.identity));
	c->location[0] = 0;
	cert_files_remove(c->bs_dir); /* the previous account's */
	if ((cfg.mode != SL_SECURITY_CERTIFICATE ||
	     !(ret = cert_files(c, &cfg, c->bs_dir, sizeof(c->bs_dir), err))) &&
	    !(ret = shim_client_configure(c, &cfg, err)))
		ret = shim_client_connect(c, err);
	return ret ? ret : shim_lwm2m_register(c, f, err);
}

/* /0 is open to the bootstrap server only between Request and Finish. */
int shim_bootstrap_run(shim_client_t *c, long timeout_ms, json_t *f, sl_error_t *err)
{
	int ret;

	if (!c->connected)
		return shim_reply_err_set(err, ENOTCONN, "not connected: send connect first");
	ret = request_and_wait(c, timeout_ms, f, err);
	c->bootstrapping = 0;
	lh_event_emitf("bootstrap_finished", "{s:b,s:s}", "accepted", !ret, "reason",
		       ret ? err->message : "");
	return ret ? ret : switch_account(c, f, err);
}
