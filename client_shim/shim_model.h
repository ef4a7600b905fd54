/* shim_model.h: the client's LwM2M data model beyond what shim_device.c
 * reads out: which resources of Security (/0), Server (/1), Device (/3) and
 * Firmware Update (/5) exist, which operations each allows, and the values
 * the server may Write (one instance, 0, per object). The server's Write,
 * Execute and Discover are checked against it (shim_ops.c). */
#ifndef SHIM_MODEL_H
#define SHIM_MODEL_H
#include <stddef.h>
#include <stdint.h>

#define SHIM_OP_R 1
#define SHIM_OP_W 2
#define SHIM_OP_E 4
#define SHIM_VAL_MAX 2048 /* a certificate in DER fits (/0/x/3, /0/x/4) */

typedef enum { SHIM_T_STR, SHIM_T_INT, SHIM_T_BOOL, SHIM_T_OPAQUE, SHIM_T_EXEC } shim_type_t;

/* One resource of the model. */
typedef struct {
	uint16_t oid, rid;
	uint8_t ops;	  /* SHIM_OP_* */
	uint8_t type;	  /* shim_type_t */
	uint8_t multiple; /* multi-instance resource (one instance, 0) */
} shim_res_def_t;

/* A value: num for INT/BOOL, bytes for STR (NUL-terminated) and OPAQUE. */
typedef struct {
	long long num;
	size_t len;
	uint8_t bytes[SHIM_VAL_MAX + 1];
} shim_val_t;

/* A path "/o", "/o/i" or "/o/i/r": depth 1..3, unused parts -1. */
typedef struct {
	int oid, iid, rid, depth;
} shim_path_t;

typedef struct shim_model shim_model_t;

/* The model with its initial values (the Server object from the config's
 * lifetime and binding); NULL when out of memory. */
shim_model_t *shim_model_new(long lifetime, const char *binding);
void shim_model_free(shim_model_t *m);
/* Parses "3/0/1" or "/3/0/1"; -1 unless 1..3 numeric segments. */
int shim_model_path(const char *s, size_t len, shim_path_t *p);
/* The resource's definition, or NULL. */
const shim_res_def_t *shim_model_def(int oid, int rid);
/* True when the model has object oid (instance iid when iid >= 0). */
int shim_model_has(int oid, int iid);
/* The i-th resource definition of object oid (NULL past the last). */
const shim_res_def_t *shim_model_nth(int oid, size_t i);
/* The stored value of /oid/0/rid (NULL for resources shim_device computes). */
shim_val_t *shim_model_val(shim_model_t *m, int oid, int rid);
/* The value of /oid/iid/rid (iid 1 only for /0, written by a bootstrap
 * server; asking for it makes the instance exist). */
shim_val_t *shim_model_val_at(shim_model_t *m, int oid, int iid, int rid);
/* Deletes /0/1; whether it exists. */
void shim_model_drop_sec1(shim_model_t *m);
int shim_model_sec1(const shim_model_t *m);
/* The value as text (what a text/plain Read carries); 0 or -1. */
int shim_model_text(const shim_model_t *m, int oid, int rid, char *buf, size_t size);

#endif
