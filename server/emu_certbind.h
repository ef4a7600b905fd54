/* emu_certbind.h: endpoint names bound to client certificates, the
 * certificate counterpart of $.psk[i].endpoint. */
#ifndef EMU_CERTBIND_H
#define EMU_CERTBIND_H
#include <jansson.h>
#include <stddef.h>

/* Checks $.certificate.endpoints: an array of {"cn": NAME, "endpoint": EP}
 * or {"subject": DN, "endpoint": EP}. Returns 0, or -1 with err naming the
 * JSON path (path is "$.certificate.endpoints"). */
int emu_certbind_check(const json_t *arr, const char *path, char *err, size_t err_size);

/* May a client whose certificate subject is subject (as Mbed TLS prints a
 * DN, "O=org, CN=dev1") use endpoint ep? 0 when allowed (no binding names
 * the certificate, or one of those that do names ep); -1 with the reason. */
int emu_certbind_allows(const json_t *arr, const char *subject, const char *ep, char *err,
			size_t err_size);

/* The CN attribute of subject, unescaped, into out; -1 when it has none. */
int emu_certbind_cn(const char *subject, char *out, size_t size);

#endif
