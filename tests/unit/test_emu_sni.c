/* End-to-end test of SNI virtual hosts against the real emulator: the SNI
 * picks the vhost (its own PSK table), an unknown name is refused with
 * unrecognized_name when configured so, no SNI means the default vhost, and
 * an IP literal as SNI is flagged as an RFC 6066 violation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_emu_dtls.h"

/* One vhost with its own PSK (same key bytes, identity "a-dev"); unknown
 * names rejected. */
static void vhosts(struct emu_config *cfg)
{
	char err[256];
	json_t *j =
	    json_loads("{\"sni\":{\"unknown\":\"reject\"},\"vhosts\":[{\"name\":\"A.example\","
		       "\"psk\":[{\"identity\":\"a-dev\",\"key_hex\":"
		       "\"00112233445566778899aabbccddeeff\"}]}]}",
		       0, NULL);
	if (!j || emu_config_apply_json(cfg, j, err, sizeof(err)) < 0)
		_exit(5);
	json_decref(j);
}

/* One handshake with the given SNI (NULL: none) and PSK identity. */
static int handshake(int port, const char *sni, const char *identity)
{
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	client_conf_id(&conf, &drbg, identity);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	if (sni)
		assert_int_equal(mbedtls_ssl_set_hostname(&ssl, sni), 0);
	int ret = client_handshake(&ssl, &c, port);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return ret;
}

static void sni_selects_vhost(void **state)
{
	(void)state;
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(vhosts);
	int port = server_port();
	assert_true(port > 0);
	/* The vhost's own identity works there, case-insensitively. */
	assert_int_equal(handshake(port, "a.EXAMPLE", "a-dev"), 0);
	assert_true(events_have("\"sni\":\"a.EXAMPLE\",\"vhost\":\"a.example\"", 1));
	/* The default vhost's identity does not. */
	assert_int_not_equal(handshake(port, "a.example", "cid-dev"), 0);
	assert_true(events_have("\"name\":\"unknown_psk_identity\"", 1));
	/* Unknown name: refused with unrecognized_name (112). */
	assert_int_not_equal(handshake(port, "b.example", "cid-dev"), 0);
	assert_true(events_have("\"description\":112,\"name\":\"unrecognized_name\"", 1));
	/* No SNI follows the unknown-name policy: refused the same way. */
	assert_int_not_equal(handshake(port, NULL, "cid-dev"), 0);
	assert_true(events_have("\"description\":112,\"name\":\"unrecognized_name\"", 2));
	assert_int_equal(events_have("\"sni\":null,\"vhost\":\"default\"", 0), 0);
	/* An IP literal is not a valid SNI (RFC 6066 §3): flagged. */
	assert_int_not_equal(handshake(port, "127.0.0.1", "cid-dev"), 0);
	assert_true(events_have("\"violation\":\"ip_literal\"", 1));
	assert_int_equal(stop_server(), 0);
}

/* Unknown names rejected but a missing SNI allowed; CIDs on, 8 bytes by
 * default, 4 bytes for vhost c.example (per-vhost CID length). */
static void missing_default_cid_lengths(struct emu_config *cfg)
{
	char err[256];
	json_t *j = json_loads("{\"sni\":{\"unknown\":\"reject\",\"missing\":\"default\"},"
			       "\"dtls\":{\"cid\":{\"enabled\":true,\"length\":8}},"
			       "\"vhosts\":[{\"name\":\"c.example\",\"cid\":{\"length\":4},"
			       "\"psk\":[{\"identity\":\"c-dev\",\"key_hex\":"
			       "\"00112233445566778899aabbccddeeff\"}]}]}",
			       0, NULL);
	if (!j || emu_config_apply_json(cfg, j, err, sizeof(err)) < 0)
		_exit(5);
	json_decref(j);
}

/* One CID handshake plus a Register, so the CID is used in records. */
static void cid_register(int port, const char *sni, const char *identity)
{
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	char loc[64];
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	client_conf_id(&conf, &drbg, identity);
	assert_int_equal(mbedtls_ssl_conf_cid(&conf, 0, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE), 0);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	assert_int_equal(mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, NULL, 0), 0);
	if (sni)
		assert_int_equal(mbedtls_ssl_set_hostname(&ssl, sni), 0);
	assert_int_equal(client_handshake(&ssl, &c, port), 0);
	assert_int_equal(coap_request(&ssl, 0x02, "rd", "ep=sni-cid&lt=60", loc, sizeof(loc)),
			 0x41);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
}

/* The CID the server assigned in the newest handshake_done whose line holds
 * needle, as bytes; returns its length (-1: none). */
static int own_cid_of(const char *needle, uint8_t *cid, size_t size)
{
	char line[4096];
	int n = -1;
	FILE *f = fopen(events_path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "\"own_cid\":\"");
		if (!p || !strstr(line, "\"handshake_done\"") || !strstr(line, needle))
			continue;
		p += strlen("\"own_cid\":\"");
		for (n = 0; (size_t)n < size && sscanf(p + 2 * n, "%2hhx", &cid[n]) == 1; n++)
			;
	}
	if (f)
		fclose(f);
	return n;
}

static void missing_sni_allowed_cid_per_vhost(void **state)
{
	(void)state;
	start_server(missing_default_cid_lengths);
	int port = server_port();
	assert_true(port > 0);
	/* "missing": "default" lets a ClientHello without SNI in. */
	assert_int_equal(handshake(port, NULL, "cid-dev"), 0);
	assert_true(events_have("\"vhost\":\"default\"", 1));
	/* An IP literal names no host (RFC 6066 §3): it counts as a missing
	 * SNI, so it gets the default vhost, still flagged as a violation. */
	assert_int_equal(handshake(port, "127.0.0.1", "cid-dev"), 0);
	assert_true(events_have("\"sni\":\"127.0.0.1\",\"vhost\":\"default\"", 1));
	assert_true(events_have("\"violation\":\"ip_literal\"", 1));
	/* Two lengths in use: each CID names its length by its first byte. */
	uint8_t cid[EMU_CID_MAX];
	cid_register(port, "c.example", "c-dev");
	assert_true(events_have("\"vhost\":\"c.example\",\"resumed\":false", 1));
	assert_int_equal(own_cid_of("\"vhost\":\"c.example\"", cid, sizeof(cid)), 4);
	assert_int_equal(EMU_CID_LEN_OF(cid[0]), 4);
	cid_register(port, NULL, "cid-dev");
	assert_int_equal(own_cid_of("\"vhost\":\"default\"", cid, sizeof(cid)), 8);
	assert_int_equal(EMU_CID_LEN_OF(cid[0]), 8);
	assert_true(events_have("\"event\":\"register\"", 2));
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sni_selects_vhost),
	    cmocka_unit_test(missing_sni_allowed_cid_per_vhost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
