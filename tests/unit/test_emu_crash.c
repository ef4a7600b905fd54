/* Crash-safe --state: the emulator is killed with SIGKILL after a periodic
 * save and restarts with the session and registration of that save; the
 * client's next Update is accepted on the same DTLS session (no handshake)
 * and the server's records carry sequence numbers far above any it sent
 * before the kill (a restored context must not reuse them). Also the
 * context patcher on a real saved context, and the strict checks on a state
 * file (checksum, duplicates, version, unwritable place), and a failed
 * save at run time as an event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sys/stat.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha256.h>

#include "common/lh_hex.h"
#include "server/emu_state.h"
#include "test_emu_dtls.h"

static char state_dir[32], state_path[64];
static int fixed_port;

/* The server record sequence number seen last by the client. */
static uint64_t last_seq;

/* CID 6, a fixed port after the first start, state saved every second. */
static void tweak(struct emu_config *cfg)
{
	cfg->cid_enabled = 1;
	cfg->cid_length = 6;
	cfg->dtls_port = fixed_port;
	cfg->state = strdup(state_path);
	cfg->state_interval_s = 1;
}

/* c_recv, and notes the 48-bit sequence number of an application record
 * (plain or with CID): byte 0 type, 1-2 version, 3-4 epoch, 5-10 seq. */
static int seq_recv(void *ctx, unsigned char *buf, size_t len, uint32_t timeout)
{
	int n = c_recv(ctx, buf, len, timeout);
	if (n >= 13 && (buf[0] == 23 || buf[0] == 25)) {
		last_seq = 0;
		for (int i = 5; i < 11; i++)
			last_seq = last_seq << 8 | buf[i];
	}
	return n;
}

/* The saved context of the only session in the state file (decoded). */
static size_t saved_context(uint8_t *blob, size_t size)
{
	json_error_t jerr;
	size_t len = 0;
	json_t *root = json_load_file(state_path, 0, &jerr);
	assert_non_null(root);
	const char *b64 = json_string_value(
	    json_object_get(json_array_get(json_object_get(root, "sessions"), 0), "context"));
	assert_non_null(b64);
	assert_int_equal(
	    mbedtls_base64_decode(blob, size, &len, (const unsigned char *)b64, strlen(b64)), 0);
	json_decref(root);
	return len;
}

/* Register, wait for a periodic save that holds it, one more exchange
 * (records the save does not cover), SIGKILL, restart, Update. */
static void sigkill_restores_last_periodic_save(void **state)
{
	(void)state;
	struct test_dtls_conf t;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	char loc[64];
	/* A private folder: the state file holds session keys. */
	snprintf(state_dir, sizeof(state_dir), "/tmp/test_emu_crash_XXXXXX");
	assert_non_null(mkdtemp(state_dir));
	snprintf(state_path, sizeof(state_path), "%s/state.json", state_dir);
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	test_dtls_conf_init(&t);
	mbedtls_ssl_init(&ssl);
	fixed_port = 0;
	start_server(tweak);
	int port = server_port();
	assert_true(port > 0);
	assert_int_equal(mbedtls_ssl_conf_cid(&t.conf, 0, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE), 0);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &t.conf), 0);
	assert_int_equal(mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, NULL, 0), 0);
	assert_int_equal(client_handshake(&ssl, &c, port), 0);
	mbedtls_ssl_set_bio(&ssl, &c, c_send, NULL, seq_recv);
	assert_int_equal(coap_request(&ssl, 0x02, "rd", "ep=crash-dev&lt=300", loc, sizeof(loc)),
			 0x41);
	assert_true(events_have("\"trigger\":\"periodic\",\"sessions\":1,\"registrations\":1", 1));
	assert_int_equal(coap_request(&ssl, 0x02, loc, "lt=300", NULL, 0), 0x44);
	uint64_t before_kill = last_seq;
	int status;
	kill(server_pid, SIGKILL);
	waitpid(server_pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	unlink(events_path);

	fixed_port = port;
	start_server(tweak);
	assert_int_equal(server_port(), port);
	assert_true(events_have("\"event\":\"state_restored\"", 1));
	assert_true(events_have("\"sessions\":1,\"registrations\":1", 1));
	assert_int_equal(coap_request(&ssl, 0x02, loc, "lt=300", NULL, 0), 0x44);
	assert_int_equal(events_have("handshake_started", 1), 0);
	/* At least the 2^24 margin above anything sent before the kill. */
	assert_true(last_seq >= before_kill + (UINT64_C(1) << 23));
	assert_int_equal(access(state_path, F_OK), 0);
	assert_int_equal(stop_server(), 0);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	test_dtls_conf_free(&t);
}

/* The patcher on the real context the run above saved: the counter moves
 * by the margin; a blob whose layout does not check out is refused. */
static void patcher_on_real_context(void **state)
{
	(void)state;
	uint8_t blob[4096], bad[4097];
	uint64_t seq = 0, seq2 = 0;
	char why[256];
	size_t len = saved_context(blob, sizeof(blob));
	assert_true(len > 100);
	assert_int_equal(emu_state_ctx_advance(blob, len, 1000, &seq, why, sizeof(why)), 0);
	assert_int_equal(emu_state_ctx_advance(blob, len, 1, &seq2, why, sizeof(why)), 0);
	assert_int_equal(seq2, seq + 1); /* the same field, moved twice */
	assert_int_equal(emu_state_ctx_advance(blob, len - 1, 1, &seq, why, sizeof(why)), -1);
	memcpy(bad, blob, len);
	bad[len] = 0;
	assert_int_equal(emu_state_ctx_advance(bad, len + 1, 1, &seq, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "trailing"));
	memcpy(bad, blob, len);
	bad[2] ^= 0x7f; /* another patch release */
	assert_int_equal(emu_state_ctx_advance(bad, len, 1, &seq, why, sizeof(why)), -1);
	memcpy(bad, blob, len);
	bad[7] ^= 0x04; /* no anti-replay window: every later offset moves */
	assert_int_equal(emu_state_ctx_advance(bad, len, 1, &seq, why, sizeof(why)), -1);
	assert_int_equal(
	    emu_state_ctx_advance(blob, len, UINT64_C(1) << 48, &seq, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "exhausted"));
}

/* Rewrites the state file with doc and a fresh checksum over it. */
static void write_signed(json_t *doc)
{
	uint8_t digest[32];
	char hex[65];
	json_object_del(doc, "sha256");
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(mbedtls_sha256((const unsigned char *)text, strlen(text), digest, 0), 0);
	free(text);
	lh_hex_encode(digest, sizeof(digest), hex);
	json_object_set_new(doc, "sha256", json_string(hex));
	assert_int_equal(json_dump_file(doc, state_path, 0), 0);
}

/* emu_state_check's verdict, with its message in msg. */
static int check_msg(const char *path, char *msg, size_t size)
{
	char errpath[64];
	snprintf(errpath, sizeof(errpath), "/tmp/test_emu_crash_err_%d", (int)getpid());
	fflush(stderr);
	int saved = dup(STDERR_FILENO), fd = open(errpath, O_CREAT | O_TRUNC | O_RDWR, 0600);
	dup2(fd, STDERR_FILENO);
	int ret = emu_state_check(path);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(fd, msg, size - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(errpath);
	return ret;
}

/* A corrupt file, a duplicate session, a duplicate CID and an unknown
 * version are each refused with the JSON path at fault. */
static void strict_validation(void **state)
{
	(void)state;
	char msg[4096];
	json_error_t jerr;
	json_t *orig = json_load_file(state_path, 0, &jerr);
	assert_non_null(orig);
	if (check_msg(state_path, msg, sizeof(msg)) != 0)
		fail_msg("%s", msg);

	json_t *doc = json_deep_copy(orig);
	json_object_set_new(doc, "saved_at", json_real(1.5)); /* edited, old checksum */
	assert_int_equal(json_dump_file(doc, state_path, 0), 0);
	assert_int_equal(check_msg(state_path, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "$.sha256: checksum mismatch"));
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_t *sessions = json_object_get(doc, "sessions");
	json_array_append_new(sessions, json_deep_copy(json_array_get(sessions, 0)));
	write_signed(doc);
	assert_int_equal(check_msg(state_path, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "$.sessions[1]: duplicate session id"));

	json_object_set_new(json_array_get(sessions, 1), "id", json_integer(999999));
	write_signed(doc);
	assert_int_equal(check_msg(state_path, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "$.sessions[1]: duplicate CID"));

	json_object_set_new(json_array_get(sessions, 1), "context", json_string("AAAA"));
	json_object_set_new(json_array_get(sessions, 1), "own_cid", json_string(""));
	write_signed(doc);
	assert_int_equal(check_msg(state_path, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "$.sessions[1].context: DTLS context refused"));
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_object_set_new(doc, "version", json_integer(1));
	write_signed(doc);
	assert_int_equal(check_msg(state_path, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "$.version: unknown state version"));
	json_decref(doc);
	json_decref(orig);
	unlink(state_path);
	rmdir(state_dir);

	/* A place no file can be created in (even by root): refused at start. */
	assert_int_equal(check_msg("/proc/emu-state.json", msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "/proc/emu-state.json"));
}

/* A save that cannot be written at run time is an event naming the path
 * and the reason (its folder is gone here), and the emulator goes on. */
static void failed_save_is_an_event(void **state)
{
	(void)state;
	snprintf(state_dir, sizeof(state_dir), "/tmp/test_emu_crash_XXXXXX");
	assert_non_null(mkdtemp(state_dir));
	snprintf(state_path, sizeof(state_path), "%s/state.json", state_dir);
	fixed_port = 0;
	start_server(tweak);
	assert_true(server_port() > 0);
	assert_int_equal(rmdir(state_dir), 0);
	assert_true(events_have("\"event\":\"state_save_failed\"", 1));
	assert_true(events_have("\"trigger\":\"periodic\"", 1));
	assert_true(events_have(state_path, 1));
	assert_true(events_have("cannot create a temporary file next to it", 1));
	assert_int_equal(mkdir(state_dir, 0700), 0);
	assert_int_equal(stop_server(), 0); /* the shutdown save works again */
	assert_int_equal(unlink(state_path), 0);
	rmdir(state_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sigkill_restores_last_periodic_save),
	    cmocka_unit_test(patcher_on_real_context),
	    cmocka_unit_test(strict_validation),
	    cmocka_unit_test(failed_save_is_an_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
