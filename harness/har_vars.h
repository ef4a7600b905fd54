#ifndef HAR_VARS_H
#define HAR_VARS_H
#include <jansson.h>

#include "har_err.h"

/* Scenario strings may name files of the build they run with: "${certs}" is
 * the test PKI of the harness's own build (<bin>/../certs, made by
 * `make certs`), so a scenario never hard-codes a build folder and the ASan
 * build uses its own copy; "${pki:<id>.<field>}" is a field of that PKI's
 * index.json (e.g. ${pki:server/selfsigned.sha256_spki}, for DANE pins);
 * "${pki_hex:<file>}" the bytes of one of its files in hex (e.g.
 * ${pki_hex:client/dev1.der}, a certificate a bootstrap server writes).
 * Expands them in every string below value (in place); an unknown variable or
 * a missing PKI is an error at the JSON path. Returns the number of errors.
 *
 * "${server_addr}" (127.0.0.1:PORT) and "${server_uri}" (coaps://...) are
 * the address the client reaches the emulator at: the network simulator's
 * front, whose port exists only once the scenario runs. They are left as
 * written here, and only under $.emulator (the config the harness writes
 * again with their values, e.g. the Server URI a bootstrap server gives). */
size_t har_vars_expand(json_t *value, const char *path, const char *certs_dir,
		       struct har_errs *errs);

#define HAR_VARS_FILE_MAX 16385 /* a ${pki_hex:...} file is smaller */

/* What the run-time variables stand for. */
struct har_vars_env {
	const char *certs_dir;	 /* NULL once loaded: ${certs} etc. are gone */
	const char *server_addr; /* "127.0.0.1:PORT"; NULL: not known yet */
	const char *scheme;	 /* of ${server_uri}: "coaps" or "coaps+tcp" */
};

/* Replaces ${server_addr} and ${server_uri} below value with env's values.
 * Returns the number of errors (added to errs). */
size_t har_vars_expand_runtime(json_t *value, const char *path, const struct har_vars_env *env,
			       struct har_errs *errs);
/* True when a string below value names a run-time variable. */
int har_vars_has_runtime(const json_t *value);

#endif
