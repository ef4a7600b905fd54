#ifndef HAR_CERTS_H
#define HAR_CERTS_H
#include <stddef.h>

/* Chooses the folder ${certs} names: the one given (--certs), else the
 * build's PKI (<bin>/../certs, written by `make certs`), else, for an
 * installed harness, a PKI in the user's cache folder
 * (${XDG_CACHE_HOME:-~/.cache}/lwm2m-harness/certs) made once with the
 * installed generator. Writes it to out; -1 (said on stderr) when the
 * installed generator fails. */
int har_certs_dir(const char *given, const char *exe_dir, char *out, size_t size);

#endif
