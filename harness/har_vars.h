#ifndef HAR_VARS_H
#define HAR_VARS_H
#include <jansson.h>

#include "har_err.h"

/* Scenario strings may name files of the build they run with: "${certs}" is
 * the test PKI of the harness's own build (<bin>/../certs, made by
 * `make certs`), so a scenario never hard-codes a build folder and the ASan
 * build uses its own copy; "${pki:<id>.<field>}" is a field of that PKI's
 * index.json (e.g. ${pki:server/selfsigned.sha256_spki}, for DANE pins).
 * Expands them in every string below value (in place); an unknown variable or
 * a missing PKI is an error at the JSON path. Returns the number of errors. */
size_t har_vars_expand(json_t *value, const char *path, const char *certs_dir,
		       struct har_errs *errs);

#endif
