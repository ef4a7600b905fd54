/* shim_model.c: the resource table and the values the server can change. */
#include "client_shim/shim_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R SHIM_OP_R
#define W SHIM_OP_W
#define E SHIM_OP_E

/* LwM2M 1.1 Objects 0, 1, 3 and 5, the resources this client implements. */
static const shim_res_def_t defs[] = {
    {0, 0, R | W, SHIM_T_STR, 0},    /* LwM2M Server URI */
    {0, 1, R | W, SHIM_T_BOOL, 0},   /* Bootstrap-Server */
    {0, 2, R | W, SHIM_T_INT, 0},    /* Security Mode */
    {0, 3, R | W, SHIM_T_OPAQUE, 0}, /* Public Key or Identity */
    {0, 4, R | W, SHIM_T_OPAQUE, 0}, /* Server Public Key */
    {0, 5, W, SHIM_T_OPAQUE, 0},     /* Secret Key */
    {0, 10, R | W, SHIM_T_INT, 0},   /* Short Server ID */
    {1, 0, R, SHIM_T_INT, 0},	     /* Short Server ID */
    {1, 1, R | W, SHIM_T_INT, 0},    /* Lifetime */
    {1, 2, R | W, SHIM_T_INT, 0},    /* Default Minimum Period */
    {1, 3, R | W, SHIM_T_INT, 0},    /* Default Maximum Period */
    {1, 6, R | W, SHIM_T_BOOL, 0},   /* Notification Storing */
    {1, 7, R | W, SHIM_T_STR, 0},    /* Binding */
    {1, 8, E, SHIM_T_EXEC, 0},	     /* Registration Update Trigger */
    {3, 0, R, SHIM_T_STR, 0},	     /* Manufacturer */
    {3, 1, R, SHIM_T_STR, 0},	     /* Model Number */
    {3, 2, R, SHIM_T_STR, 0},	     /* Serial Number */
    {3, 3, R, SHIM_T_STR, 0},	     /* Firmware Version */
    {3, 4, E, SHIM_T_EXEC, 0},	     /* Reboot */
    {3, 11, R, SHIM_T_INT, 1},	     /* Error Code */
    {3, 13, R, SHIM_T_INT, 0},	     /* Current Time */
    {3, 16, R, SHIM_T_STR, 0},	     /* Supported Binding and Modes */
    {5, 0, W, SHIM_T_OPAQUE, 0},     /* Package */
    {5, 1, R | W, SHIM_T_STR, 0},    /* Package URI */
    {5, 2, E, SHIM_T_EXEC, 0},	     /* Update */
    {5, 3, R, SHIM_T_INT, 0},	     /* State */
    {5, 5, R, SHIM_T_INT, 0},	     /* Update Result */
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

struct shim_model {
	shim_val_t val[NDEFS];
	shim_val_t sec1[NDEFS]; /* /0/1: the server account a bootstrap writes */
	int sec1_present;
};

/* Index of /oid/x/rid in defs, or -1. */
static int index_of(int oid, int rid)
{
	size_t i;

	for (i = 0; i < NDEFS; i++)
		if (defs[i].oid == oid && defs[i].rid == rid)
			return (int)i;
	return -1;
}

/* Sets a string value at start-up. */
static void set_str(shim_model_t *m, int oid, int rid, const char *s)
{
	shim_val_t *v = shim_model_val(m, oid, rid);

	if (v) {
		snprintf((char *)v->bytes, sizeof(v->bytes), "%s", s);
		v->len = strlen((char *)v->bytes);
	}
}

/* Sets a number at start-up. */
static void set_num(shim_model_t *m, int oid, int rid, long long n)
{
	shim_val_t *v = shim_model_val(m, oid, rid);

	if (v)
		v->num = n;
}

/* The values a fresh device has: PSK security, Short Server ID 1. */
shim_model_t *shim_model_new(long lifetime, const char *binding)
{
	shim_model_t *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	set_num(m, 0, 2, 0); /* PSK */
	set_num(m, 0, 10, 1);
	set_num(m, 1, 0, 1);
	set_num(m, 1, 1, lifetime);
	set_num(m, 1, 6, 1);
	set_str(m, 1, 7, binding && *binding ? binding : "U");
	return m;
}

/* Frees the values. */
void shim_model_free(shim_model_t *m)
{
	free(m);
}

/* Reads one decimal segment of at most 5 digits (ids are 0..65535). */
static int segment(const char **s, const char *end, int *out)
{
	long n = 0;
	int digits = 0;

	while (*s < end && **s >= '0' && **s <= '9' && digits < 6) {
		n = n * 10 + (**s - '0');
		(*s)++;
		digits++;
	}
	if (!digits || digits > 5 || n > 65535)
		return -1;
	*out = (int)n;
	return 0;
}

/* Strict: a path with anything but 1..3 ids is not ours (4.04). */
int shim_model_path(const char *s, size_t len, shim_path_t *p)
{
	const char *end = s + len;
	int *part[3] = {&p->oid, &p->iid, &p->rid};

	p->oid = p->iid = p->rid = -1;
	p->depth = 0;
	if (s < end && *s == '/')
		s++;
	while (s < end && p->depth < 3) {
		if (segment(&s, end, part[p->depth]))
			return -1;
		p->depth++;
		if (s < end && *s++ != '/')
			return -1;
	}
	return s == end && p->depth ? 0 : -1;
}

/* The definition decides what each operation may do. */
const shim_res_def_t *shim_model_def(int oid, int rid)
{
	int i = index_of(oid, rid);

	return i < 0 ? NULL : &defs[i];
}

/* One instance, 0, per object. */
int shim_model_has(int oid, int iid)
{
	return shim_model_nth(oid, 0) && iid <= 0;
}

/* Iterates an object's resources in id order (Discover, SenML). */
const shim_res_def_t *shim_model_nth(int oid, size_t i)
{
	size_t k;

	for (k = 0; k < NDEFS; k++)
		if (defs[k].oid == oid && i-- == 0)
			return &defs[k];
	return NULL;
}

/* Storage for a writable object's resource. */
shim_val_t *shim_model_val(shim_model_t *m, int oid, int rid)
{
	return shim_model_val_at(m, oid, 0, rid);
}

/* /0/1 exists once a bootstrap server wrote it; other objects have 0. */
shim_val_t *shim_model_val_at(shim_model_t *m, int oid, int iid, int rid)
{
	int i = index_of(oid, rid);

	/* The Device object's values are computed by shim_device.c. */
	if (i < 0 || oid == 3 || !m || iid < 0 || iid > (oid == 0))
		return NULL;
	if (iid == 1)
		m->sec1_present = 1;
	return iid ? &m->sec1[i] : &m->val[i];
}

/* A bootstrap server's Delete of /0/1 (or /0: the bootstrap account 0 is
 * the client's own and stays). */
void shim_model_drop_sec1(shim_model_t *m)
{
	memset(m->sec1, 0, sizeof(m->sec1));
	m->sec1_present = 0;
}

/* Whether /0/1 was written. */
int shim_model_sec1(const shim_model_t *m)
{
	return m && m->sec1_present;
}

/* text/plain of a Read. */
int shim_model_text(const shim_model_t *m, int oid, int rid, char *buf, size_t size)
{
	const shim_res_def_t *d = shim_model_def(oid, rid);
	const shim_val_t *v = shim_model_val((shim_model_t *)m, oid, rid);
	int n;

	if (!d || !v || d->type == SHIM_T_EXEC || d->type == SHIM_T_OPAQUE)
		return -1;
	if (d->type == SHIM_T_STR)
		n = snprintf(buf, size, "%s", (const char *)v->bytes);
	else
		n = snprintf(buf, size, "%lld", v->num);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}
