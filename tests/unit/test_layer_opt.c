/* Unit tests for the Mbed TLS layer's configuration checks and options,
 * through the public vtable (no traffic): bad input is refused at create
 * with a message saying what is wrong, options keep their ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "client_shim/include/sl_layer.h"

static const unsigned char key[16] = {1, 2, 3};

/* A valid PSK configuration to start from. */
static sl_config_t psk_config(void)
{
	sl_config_t c;

	memset(&c, 0, sizeof(c));
	c.transport = SL_TRANSPORT_DTLS;
	c.mode = SL_SECURITY_PSK;
	c.psk.identity = "dev1";
	c.psk.key = key;
	c.psk.key_len = sizeof(key);
	return c;
}

/* Creates a socket and expects the given errno, with a message containing
 * what (when not NULL); returns the socket on success. */
static sl_socket_t *create(const sl_config_t *c, int expect, const char *what)
{
	const sl_vtable_t *vt = sl_layer_entry();
	sl_socket_t *s = NULL;
	sl_error_t err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(vt->create(&s, c, &err), expect);
	if (expect) {
		assert_null(s);
		assert_int_equal(err.code, expect);
		if (what)
			assert_non_null(strstr(err.message, what));
	}
	return s;
}

static void vtable_is_complete_and_versioned(void **state)
{
	const sl_vtable_t *vt = sl_layer_entry();

	(void)state;
	assert_int_equal(vt->abi_version, SL_ABI_VERSION);
	assert_int_equal(vt->size, sizeof(sl_vtable_t));
	assert_int_equal(vt->lacks, 0);
	assert_non_null(vt->create);
	assert_non_null(vt->set_option);
}

static void bad_configurations_are_refused(void **state)
{
	sl_config_t c = psk_config();
	uint16_t suites[] = {0xC0A8, 0x1234};

	(void)state;
	c.psk.key_len = 0;
	create(&c, EINVAL, "PSK mode needs");
	c = psk_config();
	c.ciphersuites = suites;
	c.num_ciphersuites = 2;
	create(&c, EINVAL, "0x1234");
	c = psk_config();
	c.handshake_timeouts.min_ms = 5000;
	c.handshake_timeouts.max_ms = 100;
	create(&c, EINVAL, "min 5000 > max 100");
	c = psk_config();
	c.transport = SL_TRANSPORT_TLS;
	c.use_connection_id = 1;
	create(&c, EINVAL, "needs DTLS");
	c = psk_config();
	c.mode = SL_SECURITY_CERTIFICATE;
	c.cert.server_cert_validation = 1;
	c.cert.trust_store_file = "/nonexistent/ca.pem";
	create(&c, EINVAL, "/nonexistent/ca.pem");
	c.cert.trust_store_file = NULL;
	c.cert.client_chain_file = "/nonexistent/client.pem";
	create(&c, EINVAL, "given together");
}

static void options_keep_their_ranges(void **state)
{
	const sl_vtable_t *vt = sl_layer_entry();
	sl_config_t c = psk_config();
	sl_socket_t *s = create(&c, 0, NULL);
	sl_option_value_t v;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.i64 = 250;
	assert_int_equal(vt->set_option(s, SL_OPT_RECV_TIMEOUT, &v), 0);
	v.i64 = 0;
	assert_int_equal(vt->get_option(s, SL_OPT_RECV_TIMEOUT, &v), 0);
	assert_int_equal(v.i64, 250);
	v.i64 = -2;
	assert_int_equal(vt->set_option(s, SL_OPT_RECV_TIMEOUT, &v), EINVAL);
	v.u64 = 40;
	assert_int_equal(vt->set_option(s, SL_OPT_MTU, &v), EINVAL);
	v.u64 = 576;
	assert_int_equal(vt->set_option(s, SL_OPT_MTU, &v), 0);
	v.timeouts.min_ms = 300;
	v.timeouts.max_ms = 200;
	assert_int_equal(vt->set_option(s, SL_OPT_DTLS_HANDSHAKE_TIMEOUTS, &v), EINVAL);
	v.timeouts.max_ms = 900;
	assert_int_equal(vt->set_option(s, SL_OPT_DTLS_HANDSHAKE_TIMEOUTS, &v), 0);
	memset(&v, 0, sizeof(v));
	assert_int_equal(vt->get_option(s, SL_OPT_DTLS_HANDSHAKE_TIMEOUTS, &v), 0);
	assert_int_equal(v.timeouts.min_ms, 300);
	assert_int_equal(v.timeouts.max_ms, 900);
	/* Read-only options cannot be written; connection facts need a connection. */
	assert_int_equal(vt->set_option(s, SL_OPT_INNER_MTU, &v), EINVAL);
	assert_int_equal(vt->get_option(s, SL_OPT_INNER_MTU, &v), ENOTCONN);
	assert_int_equal(vt->get_option(s, SL_OPT_SESSION_RESUMED, &v), 0);
	assert_false(v.flag);
	assert_int_equal(vt->get_option(s, SL_OPT_HAS_BUFFERED_DATA, &v), 0);
	assert_false(v.flag);
	assert_int_equal(vt->get_system_socket(s), -1);
	assert_int_equal(vt->send(s, "x", 1, NULL), ENOTCONN);
	vt->cleanup(&s);
	assert_null(s);
}

static void certificate_mode_needs_something_to_trust(void **state)
{
	const sl_vtable_t *vt = sl_layer_entry();
	sl_config_t c = psk_config();
	sl_socket_t *s;
	sl_error_t err;

	(void)state;
	c.mode = SL_SECURITY_CERTIFICATE;
	c.cert.server_cert_validation = 1;
	s = create(&c, 0, NULL);
	memset(&err, 0, sizeof(err));
	/* Refused before any packet: no trust store, no DANE record. */
	assert_int_equal(vt->connect(s, "127.0.0.1", "9", &err), EINVAL);
	assert_non_null(strstr(err.message, "no trust store and no DANE record"));
	/* Usages 0 and 1 constrain PKIX: a record alone is not enough. */
	static const unsigned char hash[32] = {1};
	sl_dane_tlsa_t rec = {SL_DANE_CA_CONSTRAINT, SL_DANE_SELECTOR_CERT, SL_DANE_MATCH_SHA256,
			      hash, sizeof(hash)};
	sl_option_value_t v = {.dane = {&rec, 1}};
	assert_int_equal(vt->set_option(s, SL_OPT_DANE_TLSA, &v), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vt->connect(s, "127.0.0.1", "9", &err), EINVAL);
	assert_non_null(strstr(err.message, "needs a trust store"));
	vt->cleanup(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(vtable_is_complete_and_versioned),
	    cmocka_unit_test(bad_configurations_are_refused),
	    cmocka_unit_test(options_keep_their_ranges),
	    cmocka_unit_test(certificate_mode_needs_something_to_trust),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
