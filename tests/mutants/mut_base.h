/* mut_base.h: what every mutant layer shares. A mutant is the reference
 * Mbed TLS layer, linked in statically with its entry point renamed to
 * mut_ref_layer_entry, plus one behaviour overridden through the vtable
 * (BoringSSL test-runner style: the bug lives in the test peer, the
 * reference code stays clean). Each mutant file defines sl_layer_entry. */
#ifndef MUT_BASE_H
#define MUT_BASE_H
#include <stddef.h>

#include "client_shim/include/sl_layer.h"

/* The reference layer's entry point, renamed by objcopy in the build. */
const sl_vtable_t *mut_ref_layer_entry(void);

/* The reference vtable. */
const sl_vtable_t *mut_ref(void);

/* Copies the reference vtable into vt and gives it the mutant's name. */
void mut_vtable_init(sl_vtable_t *vt, const char *name);

/* True when host is a numeric IPv4 or IPv6 address. */
int mut_is_ip_literal(const char *host);

#endif
