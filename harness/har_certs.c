/* Where the test PKI is: see har_certs.h. */
#include "har_certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The user's cache folder for the harness's PKI, or -1 with no HOME. */
static int cache_dir(char *out, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;
	if (xdg && xdg[0] == '/')
		n = snprintf(out, size, "%s/lwm2m-harness/certs", xdg);
	else if (home && home[0])
		n = snprintf(out, size, "%s/.cache/lwm2m-harness/certs", home);
	else
		return -1;
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Runs the installed generator into dir (it makes the parent folders and
 * does nothing when dir is already up to date). */
static int generate(const char *gen, const char *dir)
{
	fprintf(stderr, "lwm2m-harness: no test PKI in %s yet: making one with %s\n", dir, gen);
	char *cmd = NULL;
	if (asprintf(&cmd, "mkdir -p '%s' && '%s' '%s' >&2", dir, gen, dir) < 0)
		return -1;
	int st = strchr(dir, '\'') || strchr(gen, '\'') ? -1 : system(cmd);
	free(cmd);
	if (st == 0)
		return 0;
	fprintf(stderr,
		"lwm2m-harness: could not make the test PKI in %s (see above); make one with "
		"%s DIR and pass --certs DIR\n",
		dir, gen);
	return -1;
}

int har_certs_dir(const char *given, const char *exe_dir, char *out, size_t size)
{
	char gen[4096], index[4200];
	if (given) {
		snprintf(out, size, "%s", given);
		return 0;
	}
	snprintf(out, size, "%s/../certs", exe_dir);
	snprintf(gen, sizeof(gen), "%s/../share/lwm2m-harness/certs/gen-pki.sh", exe_dir);
	if (access(out, R_OK) == 0 || access(gen, X_OK) != 0 || cache_dir(out, size) < 0)
		return 0; /* the build tree (or no generator: ${certs} says what to do) */
	snprintf(index, sizeof(index), "%s/index.json", out);
	return access(index, R_OK) == 0 ? 0 : generate(gen, out);
}
