/* shim_objects.h: the objects the client announces in Register (and in an
 * Update whose objects changed) as CoRE links: </1/0>,</3/0> always, plus
 * the extra objects of the config (`extra_objects`), so a scenario can make
 * the link payload as large as a device with many object instances sends. */
#ifndef SHIM_OBJECTS_H
#define SHIM_OBJECTS_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SHIM_MAX_OBJECTS 16
#define SHIM_OBJECT_ID_MAX 65534
#define SHIM_INSTANCES_MAX 1024
#define SHIM_LINKS_MAX 8192 /* the link payload, bytes (block-wise on a small link) */

typedef struct {
	uint16_t id;
	uint16_t instances; /* 0: the object without instances, "</id>" */
} shim_object_t;

typedef struct {
	shim_object_t obj[SHIM_MAX_OBJECTS];
	size_t n;
} shim_objects_t;

/* Parses [{"id":N,"instances":K}, ...] found at path (e.g.
 * "$.config.extra_objects") into out. On error returns -1 and writes a
 * message naming the JSON path into msg; out is then unchanged. */
int shim_objects_parse(const json_t *arr, const char *path, shim_objects_t *out, char *msg,
		       size_t msg_size);
/* Writes the link payload ("</1/0>,</3/0>,</3303/0>,...") into buf, NUL
 * terminated. Returns its length, or -1 when it needs more than size - 1. */
int shim_objects_links(const shim_objects_t *o, char *buf, size_t size);

#endif
