#ifndef EMU_RESUME_H
#define EMU_RESUME_H
#include <jansson.h>
#include <mbedtls/ssl.h>

struct emu_server;

/* Session cache and tickets (shared by every vhost). */
int emu_resume_init(struct emu_server *srv);
/* Hooks conf to the shared cache and ticket key, as configured. */
void emu_resume_conf(struct emu_server *srv, mbedtls_ssl_config *conf);
void emu_resume_fini(struct emu_server *srv);
/* Clears the cache and rotates the ticket key; returns what was done. */
json_t *emu_resume_forget(struct emu_server *srv);

#endif
