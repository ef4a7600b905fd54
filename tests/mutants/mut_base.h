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

/* A wrapper socket for mutants that change what happens to the caller's
 * resumption buffer: the reference socket, the caller's buffer and (with
 * shadow set) a private copy the reference layer uses instead of it. */
typedef struct {
	sl_socket_t *inner;
	unsigned char *caller_buf; /* NULL when the caller gave none */
	unsigned char *shadow;	   /* NULL unless mut_wrap_hooks_t.shadow */
	size_t size;
	unsigned connects; /* connect calls so far */
	int flag;	   /* free for a mutant's hooks */
} mut_wrap_t;

typedef enum { MUT_OP_CONNECT, MUT_OP_SEND, MUT_OP_RECEIVE, MUT_OP_CLOSE } mut_op_t;

/* What a wrapping mutant changes; NULL hooks do nothing. */
typedef struct {
	int shadow; /* the reference layer writes a private copy of the buffer */
	void (*before_connect)(mut_wrap_t *w);
	void (*after_op)(mut_wrap_t *w, mut_op_t op);
} mut_wrap_hooks_t;

/* Copies the reference vtable into vt with every entry going through a
 * mut_wrap_t socket and the hooks (which must outlive the layer). */
void mut_wrap_vtable_init(sl_vtable_t *vt, const char *name, const mut_wrap_hooks_t *hooks);

/* The wrapper behind a socket handle of a mut_wrap_vtable_init layer. */
mut_wrap_t *mut_wrap_of(sl_socket_t *sock);

/* The kind of blob the buffer holds: 0 none, 1 session, 2 CID context (the
 * reference layer's "SLRB" format, docs/socket-layer.md). */
int mut_buffer_kind(const unsigned char *buf, size_t size);

/* Marks the buffer empty, as the reference layer does. */
void mut_buffer_wipe(unsigned char *buf, size_t size);

#endif
