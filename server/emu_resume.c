/* Session resumption: Mbed TLS's session cache (by session ID) and session
 * tickets, each switched on or off by the config, and forgotten on command
 * so that the next resumption attempt falls back to a full handshake. */
#include "emu_server.h"
#include "emu_reload.h"
#include "emu_resume.h"

#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_ticket.h>
#include <stdlib.h>
#include <string.h>

/* Ticket keys live a day; rotation happens only on command. */
#define EMU_TICKET_LIFETIME_S 86400

/* Mbed TLS sessions do not carry the PSK identity, yet a resumed session
 * must still say who it is: remember it per session ID / ticket. */
#define EMU_RESUME_IDS_MAX 65536

/* The key of the identity memory: a session ID as it is (32 bytes the
 * server drew at random), or a ticket's first EMU_TICKET_KEY_LEN bytes.
 * Mbed TLS 3.6 writes a ticket as key_name (4) | IV (12, random per ticket)
 * | length (2) | sealed session | tag (16), and the tag covers key_name, IV
 * and length: those first bytes tell tickets apart, and a ticket that
 * parses cannot carry another ticket's. No digest is needed (a SHA-256 of
 * the whole ticket was 3-4 compressions per full handshake). */
#define EMU_RESUME_KEY_LEN 32
#define EMU_TICKET_KEY_LEN 16

struct emu_resume_id {
	uint8_t key[EMU_RESUME_KEY_LEN];
	char identity[EMU_PSK_IDENTITY_MAX + 1];
	UT_hash_handle hh;
};

static struct emu_resume_id *ids;
static size_t ids_count;

/* The memory's key for a session ID or ticket b: its first bytes (see
 * above), zero-padded; len is what the caller's kind of key uses. */
static void id_key(const unsigned char *b, size_t len, uint8_t key[EMU_RESUME_KEY_LEN])
{
	if (len > EMU_RESUME_KEY_LEN)
		len = EMU_RESUME_KEY_LEN;
	memset(key, 0, EMU_RESUME_KEY_LEN);
	memcpy(key, b, len);
}

/* Drops every remembered identity. */
static void ids_clear(void)
{
	struct emu_resume_id *e, *tmp;
	HASH_ITER(hh, ids, e, tmp)
	{
		HASH_DEL(ids, e);
		free(e);
	}
	ids_count = 0;
}

/* Evicts beyond the bound; uthash iterates in insertion order, so the
 * first entry is the oldest. */
static void ids_trim(void)
{
	while (ids_count > EMU_RESUME_IDS_MAX) {
		struct emu_resume_id *oldest = ids;
		if (!oldest)
			return;
		HASH_DEL(ids, oldest);
		free(oldest);
		ids_count--;
	}
}

/* Copies a NUL-terminated identity into a buffer of the same bound. */
static void identity_copy(char dst[EMU_PSK_IDENTITY_MAX + 1], const char *src)
{
	size_t n = strnlen(src, EMU_PSK_IDENTITY_MAX);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Remembers the identity of the session being handshaken under b. The key
 * is new (a session ID or ticket IV drawn at random for this handshake),
 * so it is added without a lookup first: the lookup walked a whole bucket
 * chain of cold entries to find nothing, the costliest part of this. */
static void ids_put(struct emu_server *srv, const unsigned char *b, size_t len)
{
	struct emu_resume_id *e;
	if (!srv->current || !srv->current->identity[0])
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	id_key(b, len, e->key);
	identity_copy(e->identity, srv->current->identity);
	HASH_ADD(hh, ids, key, sizeof(e->key), e);
	ids_count++;
	ids_trim();
}

/* Restores the identity remembered under b onto the current session. */
static void ids_get(struct emu_server *srv, const unsigned char *b, size_t len)
{
	struct emu_resume_id *e = NULL;
	uint8_t key[EMU_RESUME_KEY_LEN];
	if (!srv->current)
		return;
	id_key(b, len, key);
	HASH_FIND(hh, ids, key, sizeof(key), e);
	if (e)
		identity_copy(srv->current->identity, e->identity);
}

/* Cache lookup: notes the resumption on the session being handshaken, since
 * Mbed TLS gives no public "was resumed" flag. */
static int cache_get(void *data, unsigned char const *id, size_t id_len,
		     mbedtls_ssl_session *session)
{
	struct emu_server *srv = data;
	int ret = mbedtls_ssl_cache_get(&srv->cache, id, id_len, session);
	if (ret == 0 && srv->current) {
		srv->current->resumed = 1;
		srv->current->resumed_by = "cache";
		ids_get(srv, id, id_len);
	}
	return ret;
}

/* Cache store, straight to Mbed TLS's cache. */
static int cache_set(void *data, unsigned char const *id, size_t id_len,
		     const mbedtls_ssl_session *session)
{
	struct emu_server *srv = data;
	ids_put(srv, id, id_len);
	return mbedtls_ssl_cache_set(&srv->cache, id, id_len, session);
}

/* Ticket parse: a ticket that decrypts means an abbreviated handshake. */
static int ticket_parse(void *p, mbedtls_ssl_session *session, unsigned char *buf, size_t len)
{
	struct emu_server *srv = p;
	uint8_t head[EMU_TICKET_KEY_LEN] = {0};
	/* Parsing decrypts in place: keep the head of the ticket as sent (a
	 * shorter ticket does not parse). */
	if (len >= sizeof(head))
		memcpy(head, buf, sizeof(head));
	int ret = mbedtls_ssl_ticket_parse(&srv->ticket, session, buf, len);
	if (ret == 0 && srv->current) {
		srv->current->resumed = 1;
		srv->current->resumed_by = "ticket";
		ids_get(srv, head, sizeof(head));
	}
	return ret;
}

/* Ticket write, straight to Mbed TLS. */
static int ticket_write(void *p, const mbedtls_ssl_session *session, unsigned char *start,
			const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
	struct emu_server *srv = p;
	int ret = mbedtls_ssl_ticket_write(&srv->ticket, session, start, end, tlen, lifetime);
	if (ret == 0 && *tlen >= EMU_TICKET_KEY_LEN)
		ids_put(srv, start, EMU_TICKET_KEY_LEN);
	return ret;
}

/* (Re)creates the ticket key; old tickets stop decrypting. */
static int ticket_key(struct emu_server *srv)
{
	mbedtls_ssl_ticket_free(&srv->ticket);
	mbedtls_ssl_ticket_init(&srv->ticket);
	return mbedtls_ssl_ticket_setup(&srv->ticket, mbedtls_ctr_drbg_random, &srv->drbg,
					MBEDTLS_CIPHER_AES_256_GCM, EMU_TICKET_LIFETIME_S);
}

int emu_resume_init(struct emu_server *srv)
{
	mbedtls_ssl_cache_init(&srv->cache);
	mbedtls_ssl_ticket_init(&srv->ticket);
	if (emu_gen_cfg(srv)->session_tickets && ticket_key(srv) != 0) {
		fprintf(stderr, "lwm2m-emulator: cannot set up session tickets\n");
		return -1;
	}
	return 0;
}

void emu_resume_conf(struct emu_server *srv, mbedtls_ssl_config *conf)
{
	if (emu_gen_cfg(srv)->session_cache)
		mbedtls_ssl_conf_session_cache(conf, srv, cache_get, cache_set);
	if (emu_gen_cfg(srv)->session_tickets)
		mbedtls_ssl_conf_session_tickets_cb(conf, ticket_write, ticket_parse, srv);
	else
		mbedtls_ssl_conf_session_tickets(conf, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
}

void emu_resume_fini(struct emu_server *srv)
{
	mbedtls_ssl_cache_free(&srv->cache);
	mbedtls_ssl_ticket_free(&srv->ticket);
	ids_clear();
}

json_t *emu_resume_forget(struct emu_server *srv)
{
	int tickets_ok = 1;
	mbedtls_ssl_cache_free(&srv->cache);
	mbedtls_ssl_cache_init(&srv->cache);
	ids_clear();
	if (emu_gen_cfg(srv)->session_tickets)
		tickets_ok = ticket_key(srv) == 0;
	return json_pack("{s:b, s:b}", "cache_cleared", emu_gen_cfg(srv)->session_cache,
			 "ticket_key_rotated", emu_gen_cfg(srv)->session_tickets && tickets_ok);
}
