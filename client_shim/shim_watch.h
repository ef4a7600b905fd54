/* shim_watch.h: Observe as LwM2M wants it: the notification attributes
 * the server sets with Write-Attributes (pmin, pmax, gt, lt, st on an
 * object, instance or resource; a resource inherits from its instance and
 * object, then from the Server object's Default Minimum/Maximum Period
 * /1/0/2 and /1/0/3), and a tick that notifies each observed resource at
 * pmax even when nothing changed, and a changed value (a Write) not sooner
 * than pmin after the previous notification. */
#ifndef SHIM_WATCH_H
#define SHIM_WATCH_H
#include <coap3/coap.h>

#include "client_shim/shim_client.h"
#include "client_shim/shim_model.h"

typedef struct shim_watch shim_watch_t;

shim_watch_t *shim_watch_new(void);
void shim_watch_free(shim_watch_t *w);
/* Tracks an observable resource; 0 or -1 (table full). */
int shim_watch_track(shim_client_t *c, coap_resource_t *r);
/* Tracks the root resource, where Observe-Composite (FETCH) observes the
 * paths its payload lists; 0 or -1. */
int shim_watch_track_root(shim_client_t *c, coap_resource_t *r);
/* A FETCH on the root was answered: observe 0 adds paths (n of them) to
 * what its observers see change; 1 cancels one observation. */
void shim_watch_composite(shim_client_t *c, coap_resource_t *r, const shim_path_t *paths, size_t n,
			  int observe, int notification);
/* A GET on r was answered: observe 0 registers, 1 cancels; a notification
 * (CON answer) moves the time of the last one. */
void shim_watch_noted(shim_client_t *c, coap_resource_t *r, int observe, int notification);
/* Write-Attributes on path from the Uri-Query ("pmin=1&pmax=5", "gt"
 * alone removes gt). Returns 0, or 400 with why. */
int shim_watch_write_attrs(shim_client_t *c, const shim_path_t *p, const coap_string_t *query,
			   char *why, size_t why_size);
/* The attributes set on exactly this path as ";pmin=1;pmax=5" (Discover). */
void shim_watch_attr_text(shim_client_t *c, const shim_path_t *p, char *buf, size_t size);
/* The value at p changed: its observers (and those of its instance and
 * object) get a notification, pmin permitting. */
void shim_watch_changed(shim_client_t *c, const shim_path_t *p);
/* Called every loop turn: sends what pmin/pmax make due. */
void shim_watch_tick(shim_client_t *c);

#endif
