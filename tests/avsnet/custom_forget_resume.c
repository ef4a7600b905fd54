/* custom_forget_resume.c: a team's own avs_net (D)TLS backend, as
 * AVS_COMMONS_WITH_CUSTOM_TLS asks for it (_avs_net_create_dtls_socket & co),
 * with one bug: it never gives the caller's session resumption buffer to the
 * TLS code, so every reconnect is a full handshake. The TLS itself is
 * avs_commons' own Mbed TLS socket, loaded from a shared object named by
 * LWM2M_AVSNET_INNER (its own avs_net copy, kept apart with RTLD_LOCAL);
 * every socket operation is forwarded to it. tests/avsnet/test-avsnet.sh
 * builds it with `make layer-avsnet AVSNET_BACKEND=custom` and expects the
 * resumption scenarios to catch it. */
#include <avsystem/commons/avs_net.h>
#include <avsystem/commons/avs_prng.h>
#include <avsystem/commons/avs_socket.h>
#include <avsystem/commons/avs_socket_v_table.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

/* The inner library's entry points, looked up once. */
typedef struct {
	void *lib;
	avs_error_t (*dtls_create)(avs_net_socket_t **, const avs_net_ssl_configuration_t *);
	avs_error_t (*ssl_create)(avs_net_socket_t **, const avs_net_ssl_configuration_t *);
	avs_error_t (*udp_create)(avs_net_socket_t **, const avs_net_socket_configuration_t *);
	avs_error_t (*tcp_create)(avs_net_socket_t **, const avs_net_socket_configuration_t *);
	avs_net_socket_connect_t connect;
	avs_net_socket_decorate_t decorate;
	avs_net_socket_send_t send;
	avs_net_socket_receive_t receive;
	avs_net_socket_close_t close;
	avs_net_socket_shutdown_t shutdown;
	avs_net_socket_cleanup_t cleanup;
	avs_net_socket_get_system_t get_system;
	avs_net_socket_get_opt_t get_opt;
	avs_net_socket_set_opt_t set_opt;
	avs_crypto_prng_ctx_t *(*prng_new)(avs_prng_entropy_callback_t, void *);
	void (*prng_free)(avs_crypto_prng_ctx_t **);
} inner_api_t;

static inner_api_t inner;

typedef struct {
	const avs_net_socket_v_table_t *const operations;
	avs_net_socket_t *in;
	avs_crypto_prng_ctx_t *prng;
	avs_net_socket_configuration_t backend_cfg;
	int stream;
} fwd_socket_t;

/* One symbol of the inner library, or a message naming it. */
static int sym(void **out, const char *name)
{
	*out = dlsym(inner.lib, name);
	if (!*out)
		fprintf(stderr, "custom tls: %s missing from the inner library\n", name);
	return *out ? 0 : -1;
}

/* Loads the inner avs_net (Mbed TLS) named by LWM2M_AVSNET_INNER. */
avs_error_t _avs_net_initialize_global_ssl_state(void)
{
	const char *path = getenv("LWM2M_AVSNET_INNER");
	int bad = 0;

	if (!path || !(inner.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
		fprintf(stderr, "custom tls: cannot load LWM2M_AVSNET_INNER=%s: %s\n",
			path ? path : "(unset)", path ? dlerror() : "set it to the inner .so");
		return avs_errno(AVS_ENOENT);
	}
	bad |= sym((void **)&inner.dtls_create, "avs_net_dtls_socket_create");
	bad |= sym((void **)&inner.ssl_create, "avs_net_ssl_socket_create");
	bad |= sym((void **)&inner.udp_create, "avs_net_udp_socket_create");
	bad |= sym((void **)&inner.tcp_create, "avs_net_tcp_socket_create");
	bad |= sym((void **)&inner.connect, "avs_net_socket_connect");
	bad |= sym((void **)&inner.decorate, "avs_net_socket_decorate");
	bad |= sym((void **)&inner.send, "avs_net_socket_send");
	bad |= sym((void **)&inner.receive, "avs_net_socket_receive");
	bad |= sym((void **)&inner.close, "avs_net_socket_close");
	bad |= sym((void **)&inner.shutdown, "avs_net_socket_shutdown");
	bad |= sym((void **)&inner.cleanup, "avs_net_socket_cleanup");
	bad |= sym((void **)&inner.get_system, "avs_net_socket_get_system");
	bad |= sym((void **)&inner.get_opt, "avs_net_socket_get_opt");
	bad |= sym((void **)&inner.set_opt, "avs_net_socket_set_opt");
	bad |= sym((void **)&inner.prng_new, "avs_crypto_prng_new");
	bad |= sym((void **)&inner.prng_free, "avs_crypto_prng_free");
	return bad ? avs_errno(AVS_ENOENT) : AVS_OK;
}

/* Unloads the inner library (avs_net's global cleanup). */
void _avs_net_cleanup_global_ssl_state(void)
{
	if (inner.lib)
		dlclose(inner.lib);
	inner.lib = NULL;
}

/* The forwarders: each operation goes to the inner socket unchanged. */
static avs_error_t fwd_connect(avs_net_socket_t *s, const char *host, const char *port)
{
	return inner.connect(((fwd_socket_t *)s)->in, host, port);
}

/* The backend handed in belongs to the outer avs_net: an inner one like it
 * is made and attached instead. */
static avs_error_t fwd_decorate(avs_net_socket_t *s_, avs_net_socket_t *backend)
{
	fwd_socket_t *s = (fwd_socket_t *)s_;
	avs_net_socket_t *own = NULL;
	avs_error_t e = s->stream ? inner.tcp_create(&own, &s->backend_cfg)
				  : inner.udp_create(&own, &s->backend_cfg);

	avs_net_socket_cleanup(&backend);
	if (avs_is_ok(e))
		e = inner.decorate(s->in, own);
	if (avs_is_err(e) && own)
		inner.cleanup(&own);
	return e;
}

/* Forwards send. */
static avs_error_t fwd_send(avs_net_socket_t *s, const void *buf, size_t len)
{
	return inner.send(((fwd_socket_t *)s)->in, buf, len);
}

/* Forwards receive. */
static avs_error_t fwd_receive(avs_net_socket_t *s, size_t *out, void *buf, size_t size)
{
	return inner.receive(((fwd_socket_t *)s)->in, out, buf, size);
}

/* Forwards close (the inner socket saves nothing: it has no buffer). */
static avs_error_t fwd_close(avs_net_socket_t *s)
{
	return inner.close(((fwd_socket_t *)s)->in);
}

/* Forwards shutdown. */
static avs_error_t fwd_shutdown(avs_net_socket_t *s)
{
	return inner.shutdown(((fwd_socket_t *)s)->in);
}

/* Frees the inner socket, then its PRNG (the socket uses it until then). */
static avs_error_t fwd_cleanup(avs_net_socket_t **s_)
{
	fwd_socket_t *s = (fwd_socket_t *)*s_;
	avs_error_t e = inner.cleanup(&s->in);

	inner.prng_free(&s->prng);
	free(s);
	*s_ = NULL;
	return e;
}

/* Forwards the system socket (the inner backend's descriptor). */
static const void *fwd_get_system(avs_net_socket_t *s)
{
	return inner.get_system(((fwd_socket_t *)s)->in);
}

/* Forwards option reads. */
static avs_error_t fwd_get_opt(avs_net_socket_t *s, avs_net_socket_opt_key_t key,
			       avs_net_socket_opt_value_t *out)
{
	return inner.get_opt(((fwd_socket_t *)s)->in, key, out);
}

/* Forwards option writes. */
static avs_error_t fwd_set_opt(avs_net_socket_t *s, avs_net_socket_opt_key_t key,
			       avs_net_socket_opt_value_t value)
{
	return inner.set_opt(((fwd_socket_t *)s)->in, key, value);
}

static const avs_net_socket_v_table_t fwd_vtable = {
    .connect = fwd_connect,
    .decorate = fwd_decorate,
    .send = fwd_send,
    .receive = fwd_receive,
    .close = fwd_close,
    .shutdown = fwd_shutdown,
    .cleanup = fwd_cleanup,
    .get_system_socket = fwd_get_system,
    .get_opt = fwd_get_opt,
    .set_opt = fwd_set_opt,
};

/* THE BUG: the configuration goes to the TLS code without the caller's
 * session resumption buffer. Everything else is passed on as given (the
 * PRNG is the inner library's own: contexts do not cross libraries). */
static avs_error_t fwd_create(avs_net_socket_t **out, const void *config_, int stream)
{
	const avs_net_ssl_configuration_t *config = config_;
	avs_net_ssl_configuration_t cfg = *config;
	fwd_socket_t *s = calloc(1, sizeof(*s));
	avs_error_t e = avs_errno(AVS_ENOMEM);

	if (!s)
		return e;
	s->prng = inner.prng_new(NULL, NULL);
	s->stream = stream;
	s->backend_cfg = config->backend_configuration;
	cfg.prng_ctx = s->prng;
	cfg.session_resumption_buffer = NULL;
	cfg.session_resumption_buffer_size = 0;
	if (s->prng)
		e = stream ? inner.ssl_create(&s->in, &cfg) : inner.dtls_create(&s->in, &cfg);
	if (avs_is_err(e)) {
		if (s->prng)
			inner.prng_free(&s->prng);
		free(s);
		return e;
	}
	*(const avs_net_socket_v_table_t **)&s->operations = &fwd_vtable;
	*out = (avs_net_socket_t *)s;
	return AVS_OK;
}

/* avs_net's entry points for a custom backend. */
avs_error_t _avs_net_create_dtls_socket(avs_net_socket_t **out, const void *config)
{
	return fwd_create(out, config, 0);
}

/* The same for TLS over TCP. */
avs_error_t _avs_net_create_ssl_socket(avs_net_socket_t **out, const void *config)
{
	return fwd_create(out, config, 1);
}
