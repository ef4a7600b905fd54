/*
 * pki-mbedtls-check: checks test PKI files with Mbed TLS itself, the stack the
 * emulator and the reference layer use, so that a certificate OpenSSL accepts
 * but Mbed TLS parses or judges differently is caught here and not in a
 * scenario. Driven by tests/certs/test-pki.sh.
 *
 *   pki-mbedtls-check verify TRUST CHAIN PURPOSE NAME EXPECT
 *       Verifies CHAIN (PEM: end entity first, then intermediates) against
 *       TRUST (PEM CAs) now. PURPOSE is server, client or ca (key usage and
 *       extended key usage checked for server/client). NAME is the expected
 *       DNS name or IP address, or "-". EXPECT is "ok" or a comma list of
 *       expired, future, cn_mismatch, not_trusted, key_usage, ext_key_usage: the exact set
 *       of problems expected.
 *   pki-mbedtls-check pair CERT KEY match|mismatch
 *       Whether KEY is the private key of CERT's public key.
 *
 * Prints one line saying what it found. Exit status: 0 as expected, 1 not as
 * expected, 2 bad usage or unreadable files.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

struct flag_name {
	const char *name;
	uint32_t flag;
};

static const struct flag_name flag_names[] = {
    {"expired", MBEDTLS_X509_BADCERT_EXPIRED},
    {"future", MBEDTLS_X509_BADCERT_FUTURE},
    {"cn_mismatch", MBEDTLS_X509_BADCERT_CN_MISMATCH},
    {"not_trusted", MBEDTLS_X509_BADCERT_NOT_TRUSTED},
    {"key_usage", MBEDTLS_X509_BADCERT_KEY_USAGE},
    {"ext_key_usage", MBEDTLS_X509_BADCERT_EXT_KEY_USAGE},
};

static int usage(void)
{
	fprintf(stderr,
		"usage: pki-mbedtls-check verify TRUST CHAIN server|client|ca NAME|- EXPECT\n"
		"       pki-mbedtls-check pair CERT KEY match|mismatch\n"
		"EXPECT: ok, or a comma list of expired,future,cn_mismatch,not_trusted,"
		"key_usage,ext_key_usage\n");
	return 2;
}

static void print_mbedtls_error(const char *what, const char *path, int ret)
{
	char buf[160];

	mbedtls_strerror(ret, buf, sizeof(buf));
	fprintf(stderr, "pki-mbedtls-check: %s %s: %s (-0x%04x)\n", what, path, buf,
		(unsigned int)-ret);
}

/* Parses "ok" or a comma list of flag names into a mask; -1 on an unknown name. */
static long parse_expect(const char *text)
{
	char copy[256];
	char *save = NULL;
	long mask = 0;

	if (strcmp(text, "ok") == 0)
		return 0;
	if (strlen(text) >= sizeof(copy))
		return -1;
	strcpy(copy, text);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
			if (strcmp(tok, flag_names[i].name) == 0)
				break;
		if (i == sizeof(flag_names) / sizeof(flag_names[0])) {
			fprintf(stderr, "pki-mbedtls-check: unknown EXPECT item '%s'\n", tok);
			return -1;
		}
		mask |= flag_names[i].flag;
	}
	return mask;
}

/* Writes the names of the flags in mask (or "ok") into out. */
static void describe_flags(uint32_t mask, char *out, size_t len)
{
	uint32_t rest = mask;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		if (!(mask & flag_names[i].flag))
			continue;
		snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "",
			 flag_names[i].name);
		rest &= ~flag_names[i].flag;
	}
	if (rest)
		snprintf(out + strlen(out), len - strlen(out), "%sother(0x%x)", out[0] ? "," : "",
			 (unsigned int)rest);
	if (!out[0])
		snprintf(out, len, "ok");
}

/* Key usage and extended key usage of the end entity for PURPOSE. */
static uint32_t purpose_flags(const mbedtls_x509_crt *ee, const char *purpose)
{
	const char *oid;
	size_t oid_len;

	if (strcmp(purpose, "server") == 0) {
		oid = MBEDTLS_OID_SERVER_AUTH;
		oid_len = MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH);
	} else if (strcmp(purpose, "client") == 0) {
		oid = MBEDTLS_OID_CLIENT_AUTH;
		oid_len = MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH);
	} else {
		return 0;
	}
	uint32_t flags = 0;
	if (mbedtls_x509_crt_check_key_usage(ee, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0)
		flags |= MBEDTLS_X509_BADCERT_KEY_USAGE;
	if (mbedtls_x509_crt_check_extended_key_usage(ee, oid, oid_len) != 0)
		flags |= MBEDTLS_X509_BADCERT_EXT_KEY_USAGE;
	return flags;
}

static int cmd_verify(char **argv)
{
	const char *trust_path = argv[0], *chain_path = argv[1], *purpose = argv[2];
	const char *name = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
	long expect = parse_expect(argv[4]);
	mbedtls_x509_crt trust, chain;
	uint32_t flags = 0;
	char got[128], want[128];
	int ret, status = 2;

	if (expect < 0)
		return usage();
	if (strcmp(purpose, "server") != 0 && strcmp(purpose, "client") != 0 &&
	    strcmp(purpose, "ca") != 0)
		return usage();
	mbedtls_x509_crt_init(&trust);
	mbedtls_x509_crt_init(&chain);
	ret = mbedtls_x509_crt_parse_file(&trust, trust_path);
	if (ret != 0) {
		print_mbedtls_error("cannot parse trust file", trust_path, ret);
		goto out;
	}
	ret = mbedtls_x509_crt_parse_file(&chain, chain_path);
	if (ret != 0) {
		print_mbedtls_error("cannot parse chain file", chain_path, ret);
		goto out;
	}
	/* The chain's certificates after the first are the untrusted intermediates. */
	ret = mbedtls_x509_crt_verify(&chain, &trust, NULL, name, &flags, NULL, NULL);
	if (ret != 0 && ret != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		print_mbedtls_error("verification error on", chain_path, ret);
		goto out;
	}
	flags |= purpose_flags(&chain, purpose);
	describe_flags(flags, got, sizeof(got));
	describe_flags((uint32_t)expect, want, sizeof(want));
	status = flags == (uint32_t)expect ? 0 : 1;
	printf("%s: mbedtls says %s, expected %s\n", chain_path, got, want);
out:
	mbedtls_x509_crt_free(&chain);
	mbedtls_x509_crt_free(&trust);
	return status;
}

static int cmd_pair(char **argv)
{
	const char *cert_path = argv[0], *key_path = argv[1], *expect = argv[2];
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	int ret, status = 2;
	int want_match;

	if (strcmp(expect, "match") == 0)
		want_match = 1;
	else if (strcmp(expect, "mismatch") == 0)
		want_match = 0;
	else
		return usage();
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0);
	if (ret != 0) {
		print_mbedtls_error("cannot seed the DRBG for", key_path, ret);
		goto out;
	}
	ret = mbedtls_x509_crt_parse_file(&crt, cert_path);
	if (ret != 0) {
		print_mbedtls_error("cannot parse certificate", cert_path, ret);
		goto out;
	}
	ret = mbedtls_pk_parse_keyfile(&key, key_path, NULL, mbedtls_ctr_drbg_random, &drbg);
	if (ret != 0) {
		print_mbedtls_error("cannot parse key", key_path, ret);
		goto out;
	}
	ret = mbedtls_pk_check_pair(&crt.pk, &key, mbedtls_ctr_drbg_random, &drbg);
	printf("%s + %s: mbedtls says %s, expected %s\n", cert_path, key_path,
	       ret == 0 ? "match" : "mismatch", expect);
	status = (ret == 0) == want_match ? 0 : 1;
out:
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
	return status;
}

int main(int argc, char **argv)
{
	int status;

	if (argc < 2)
		return usage();
	/* Mbed TLS 3.6 routes key and signature operations through PSA. */
	if (psa_crypto_init() != PSA_SUCCESS) {
		fprintf(stderr, "pki-mbedtls-check: psa_crypto_init failed\n");
		return 2;
	}
	if (strcmp(argv[1], "verify") == 0 && argc == 7)
		status = cmd_verify(argv + 2);
	else if (strcmp(argv[1], "pair") == 0 && argc == 5)
		status = cmd_pair(argv + 2);
	else
		status = usage();
	mbedtls_psa_crypto_free();
	return status;
}
