/* DDF XML -> object model, on libxml2 (see emu_ddf.h). */
#include "emu_ddf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* What a parse builds up; freed in one place on any error. */
struct ddf {
	const char *file;
	char *err;
	size_t err_size;
	struct emu_obj_model *o;
	struct emu_res_model *res; /* o->res, writable */
	size_t cap;
};

/* Every error has the same "FILE:LINE: <Element>: message" shape, so a
 * user can jump to the spot in an editor. */
static int fail(struct ddf *d, const xmlNode *n, const char *elem, const char *msg)
{
	snprintf(d->err, d->err_size, "%s:%ld: <%s>: %s", d->file, n ? xmlGetLineNo(n) : 0L, elem,
		 msg);
	return -1;
}

/* The first element child of parent named name, or NULL: DDFs put each
 * field once, and comments or text between them are ignored. */
static xmlNode *child(const xmlNode *parent, const char *name)
{
	for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, BAD_CAST name))
			return c;
	return NULL;
}

/* An element's text without surrounding blanks, malloc'd ("" when empty):
 * DDF files are hand-edited and indent their values freely. */
static char *text_of(const xmlNode *n)
{
	xmlChar *raw = xmlNodeGetContent(n);
	const char *s = raw ? (const char *)raw : "";
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	char *out = strndup(s, len);
	xmlFree(raw);
	return out;
}

/* The one child element named name: a second one is an error (which of
 * the two would the decoder believe?). NULL, with err set, when there
 * are two. */
static xmlNode *single(struct ddf *d, const xmlNode *parent, const char *name, int *dup)
{
	xmlNode *n = child(parent, name);
	*dup = 0;
	for (xmlNode *c = n ? n->next : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, BAD_CAST name)) {
			char msg[96];
			snprintf(msg, sizeof(msg), "appears twice in <%s>",
				 (const char *)parent->name);
			fail(d, c, name, msg);
			*dup = 1;
			return NULL;
		}
	return n;
}

/* The text of a required child element, or NULL after naming what is
 * missing. */
static char *required(struct ddf *d, const xmlNode *parent, const char *name)
{
	int dup;
	xmlNode *n = single(d, parent, name, &dup);
	char *t = n ? text_of(n) : NULL;
	if (dup)
		return NULL;
	if (!n) {
		char msg[96];
		snprintf(msg, sizeof(msg), "missing its required <%s> element", name);
		fail(d, parent, (const char *)parent->name, msg);
	} else if (!t) {
		fail(d, n, name, "out of memory");
	}
	return t;
}

/* A decimal id 0..65535 (object and resource ids are 16-bit in LwM2M). */
static int parse_id(const char *text, uint16_t *id)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (!isdigit((unsigned char)*text) || *end || errno || v < 0 || v > 65535)
		return -1;
	*id = (uint16_t)v;
	return 0;
}

/* "Single" or "Multiple", the only spellings of the OMA schema. */
static int parse_multiple(struct ddf *d, const xmlNode *parent, uint8_t *out)
{
	char *t = required(d, parent, "MultipleInstances");
	int ret = 0;
	if (!t)
		return -1;
	if (!strcmp(t, "Single") || !strcmp(t, "Multiple"))
		*out = !strcmp(t, "Multiple");
	else
		ret = fail(d, child(parent, "MultipleInstances"), "MultipleInstances",
			   "expected Single or Multiple");
	free(t);
	return ret;
}

/* Reads Type and Operations of an <Item>, each checked against the OMA
 * spellings. */
static int item_type_ops(struct ddf *d, const xmlNode *item, struct emu_res_model *r)
{
	char *type = required(d, item, "Type");
	char *ops = type ? required(d, item, "Operations") : NULL;
	int t = type ? emu_model_type_parse(type) : -1, o = ops ? emu_model_ops_parse(ops) : -1;
	int ret = -1;
	if (!type || !ops)
		goto exit;
	if (t < 0)
		fail(d, child(item, "Type"), "Type",
		     "expected String, Integer, Unsigned Integer, Float, Boolean, Opaque, Time, "
		     "Objlnk, Corelnk or empty");
	else if (o < 0)
		fail(d, child(item, "Operations"), "Operations", "expected R, W, RW, E or empty");
	else
		ret = 0;
	r->type = (uint8_t)(t < 0 ? 0 : t);
	r->ops = (uint8_t)(o < 0 ? 0 : o);
exit:
	free(type);
	free(ops);
	return ret;
}

/* Grows the resource array geometrically, bounded by
 * EMU_DDF_RESOURCES_MAX. */
static struct emu_res_model *next_res(struct ddf *d, const xmlNode *item)
{
	if (d->o->res_count == d->cap) {
		if (d->cap >= EMU_DDF_RESOURCES_MAX) {
			fail(d, item, "Item", "too many resources in one object");
			return NULL;
		}
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct emu_res_model *n = realloc(d->res, cap * sizeof(*n));
		if (!n) {
			fail(d, item, "Item", "out of memory");
			return NULL;
		}
		d->res = n;
		d->o->res = n;
		d->cap = cap;
	}
	struct emu_res_model *r = &d->res[d->o->res_count];
	memset(r, 0, sizeof(*r));
	return r;
}

/* One <Item ID="n">: a resource; its name is owned by the model as soon
 * as it is counted, so the error path frees it. */
static int parse_item(struct ddf *d, const xmlNode *item)
{
	struct emu_res_model *r = next_res(d, item);
	if (!r)
		return -1;
	xmlChar *id = xmlGetProp(item, BAD_CAST "ID");
	int bad = !id || parse_id((const char *)id, &r->id) < 0;
	xmlFree(id);
	if (bad)
		return fail(d, item, "Item", "needs an ID attribute, a resource id 0..65535");
	char *name = required(d, item, "Name");
	if (!name)
		return -1;
	r->name = name;
	d->o->res_count++;
	if (parse_multiple(d, item, &r->multiple) < 0 || item_type_ops(d, item, r) < 0)
		return -1;
	return 0;
}

/* Resources sorted by id, for binary search; a repeated id is an error
 * (which of the two would a decoder believe?). */
static int cmp_res(const void *a, const void *b)
{
	const struct emu_res_model *x = a, *y = b;
	return (int)x->id - (int)y->id;
}

/* Every <Item> of <Resources>, sorted, ids unique. */
static int parse_resources(struct ddf *d, const xmlNode *obj)
{
	int dup;
	const xmlNode *list = single(d, obj, "Resources", &dup);
	if (dup)
		return -1;
	if (!list)
		return fail(d, obj, "Object", "missing its required <Resources> element");
	for (const xmlNode *c = list->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, BAD_CAST "Item") &&
		    parse_item(d, c) < 0)
			return -1;
	if (d->o->res_count) /* an object without resources has no array */
		qsort(d->res, d->o->res_count, sizeof(*d->res), cmp_res);
	for (size_t i = 1; i < d->o->res_count; i++)
		if (d->res[i].id == d->res[i - 1].id) {
			char msg[64];
			snprintf(msg, sizeof(msg), "resource id %u appears twice",
				 (unsigned)d->res[i].id);
			return fail(d, list, "Resources", msg);
		}
	return 0;
}

/* <Object>: name, id, instances, then the resources. */
static int parse_object(struct ddf *d, const xmlNode *obj)
{
	char *name = required(d, obj, "Name");
	if (!name)
		return -1;
	d->o->name = name;
	char *id = required(d, obj, "ObjectID");
	int bad = id && parse_id(id, &d->o->id) < 0;
	free(id);
	if (!id)
		return -1;
	if (bad)
		return fail(d, child(obj, "ObjectID"), "ObjectID",
			    "expected an object id 0..65535");
	if (parse_multiple(d, obj, &d->o->multiple) < 0)
		return -1;
	return parse_resources(d, obj);
}

/* The document must be <LWM2M><Object>...; a DOCTYPE is refused outright,
 * so no entity can be declared, let alone expanded. */
static int parse_doc(struct ddf *d, xmlDoc *doc)
{
	xmlNode *root = xmlDocGetRootElement(doc);
	if (doc->intSubset || doc->extSubset)
		return fail(d, (xmlNode *)doc->intSubset, "!DOCTYPE",
			    "a DDF has no DTD; remove the DOCTYPE");
	if (!root || xmlStrcmp(root->name, BAD_CAST "LWM2M"))
		return fail(d, root, root ? (const char *)root->name : "LWM2M",
			    "the root element of a DDF must be <LWM2M>");
	xmlNode *obj = child(root, "Object");
	if (!obj)
		return fail(d, root, "LWM2M", "missing its required <Object> element");
	return parse_object(d, obj);
}

/* An XML syntax error, with libxml2's own line and message. */
static void syntax_error(struct ddf *d, xmlParserCtxt *ctxt)
{
	const xmlError *e = ctxt ? xmlCtxtGetLastError(ctxt) : NULL;
	char msg[200];
	snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "not well-formed XML");
	msg[strcspn(msg, "\n")] = '\0';
	snprintf(d->err, d->err_size, "%s:%d: XML: %s", d->file, e ? e->line : 0, msg);
}

/* One libxml2 parse per file with its own context, so the error (line,
 * message) is this file's and nothing global is left behind. */
struct emu_obj_model *emu_ddf_parse(const char *file, const char *buf, size_t len, char *err,
				    size_t err_size)
{
	struct ddf d = {.file = file, .err = err, .err_size = err_size};
	xmlParserCtxt *ctxt = len <= EMU_DDF_FILE_MAX ? xmlNewParserCtxt() : NULL;
	xmlDoc *doc = NULL;
	d.o = calloc(1, sizeof(*d.o));
	if (len > EMU_DDF_FILE_MAX || !ctxt || !d.o) {
		snprintf(err, err_size, "%s: %s", file,
			 len > EMU_DDF_FILE_MAX ? "larger than 1 MiB" : "out of memory");
		goto err;
	}
	/* NONET: no fetching; no NOENT: entities are never substituted. */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, file, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		syntax_error(&d, ctxt);
		goto err;
	}
	if (!(d.o->source = strdup(file)) || parse_doc(&d, doc) < 0)
		goto err;
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return d.o;
err:
	if (d.o && !d.o->source && doc)
		snprintf(err, err_size, "%s: out of memory", file);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	emu_obj_model_free(d.o);
	return NULL;
}

/* Reads at most EMU_DDF_FILE_MAX + 1 bytes, so an oversized file is named
 * rather than read whole. */
struct emu_obj_model *emu_ddf_load_file(const char *path, char *err, size_t err_size)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(EMU_DDF_FILE_MAX + 1);
	struct emu_obj_model *o = NULL;
	if (!f || !buf) {
		snprintf(err, err_size, "%s: %s", path, f ? "out of memory" : strerror(errno));
		goto exit;
	}
	size_t n = fread(buf, 1, EMU_DDF_FILE_MAX + 1, f);
	if (ferror(f))
		snprintf(err, err_size, "%s: read error", path);
	else
		o = emu_ddf_parse(path, buf, n, err, err_size);
exit:
	if (f)
		fclose(f);
	free(buf);
	return o;
}
