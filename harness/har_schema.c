#include "har_schema.h"

#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#define PATH_MAX_LEN 512
#define REF_DEPTH_MAX 64

struct vctx {
	const json_t *root;
	struct har_errs *errs;
	int depth;
};

static void v_node(struct vctx *c, const json_t *sch, const json_t *inst, char *path);

static const char *const supported_keywords[] = {
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "const",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "oneOf",
    "anyOf",
    "allOf",
    NULL,
};

/* Appends ".key" (or ["key"] for odd keys) so paths read like jq paths. */
static size_t path_push_key(char *path, const char *key)
{
	size_t len = strlen(path);
	int plain = key[0] != '\0' && !isdigit((unsigned char)key[0]);
	for (const char *p = key; *p && plain; p++)
		plain = isalnum((unsigned char)*p) || *p == '_' || *p == '-';
	snprintf(path + len, PATH_MAX_LEN - len, plain ? ".%s" : "[\"%s\"]", key);
	return len;
}

/* Appends "[i]" for an array element. */
static size_t path_push_index(char *path, size_t i)
{
	size_t len = strlen(path);
	snprintf(path + len, PATH_MAX_LEN - len, "[%zu]", i);
	return len;
}

/* A name for the JSON type of a value, as JSON Schema spells it. */
static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}

/* True when v is of the schema type name t ("number" includes integers). */
static int type_matches(const char *t, const json_t *v)
{
	if (strcmp(t, "number") == 0)
		return json_is_number(v);
	if (strcmp(t, "integer") == 0)
		return json_is_integer(v) ||
		       (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v));
	return strcmp(t, json_type_name(v)) == 0;
}

/* Resolves "#/$defs/name" (any "#/a/b" pointer) inside the root schema. */
static const json_t *ref_resolve(const json_t *root, const char *ref)
{
	if (strncmp(ref, "#", 1) != 0)
		return NULL;
	if (ref[1] == '\0')
		return root;
	if (ref[1] != '/')
		return NULL;
	const json_t *cur = root;
	char buf[PATH_MAX_LEN];
	snprintf(buf, sizeof(buf), "%s", ref + 2);
	for (char *save = NULL, *tok = strtok_r(buf, "/", &save); tok && cur;
	     tok = strtok_r(NULL, "/", &save))
		cur = json_object_get(cur, tok);
	return cur;
}

/* A short text of a value for messages; long values are cut. */
static void value_text(const json_t *v, char *out, size_t size)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s) {
		snprintf(out, size, "?");
		return;
	}
	if (strlen(s) >= size && size > 4)
		snprintf(out, size, "%.*s...", (int)(size - 4), s);
	else
		snprintf(out, size, "%s", s);
	free(s);
}

/* "type": a string or an array of strings. */
static int v_type(struct vctx *c, const json_t *type, const json_t *inst, const char *path)
{
	size_t i;
	json_t *t;
	char want[128] = "";
	if (json_is_string(type)) {
		if (type_matches(json_string_value(type), inst))
			return 0;
		snprintf(want, sizeof(want), "%s", json_string_value(type));
	} else {
		json_array_foreach(type, i, t)
		{
			if (type_matches(json_string_value(t), inst))
				return 0;
			size_t len = strlen(want);
			snprintf(want + len, sizeof(want) - len, "%s%s", i ? " or " : "",
				 json_string_value(t));
		}
	}
	har_errs_add(c->errs, path, "expected %s, got %s", want, json_type_name(inst));
	return -1;
}

/* "enum" and "const": the value must equal one of the listed values. */
static void v_enum(struct vctx *c, const json_t *list, const json_t *inst, const char *path)
{
	size_t i;
	json_t *v;
	char got[96], allowed[400] = "";
	json_array_foreach(list, i, v)
	{
		if (json_equal(v, (json_t *)inst))
			return;
		char one[96];
		value_text(v, one, sizeof(one));
		size_t len = strlen(allowed);
		snprintf(allowed + len, sizeof(allowed) - len, "%s%s", i ? ", " : "", one);
	}
	value_text(inst, got, sizeof(got));
	har_errs_add(c->errs, path, "%s is not one of: %s", got, allowed);
}

/* "properties", "required" and "additionalProperties" of an object. */
static void v_object(struct vctx *c, const json_t *sch, const json_t *inst, char *path)
{
	const json_t *props = json_object_get(sch, "properties");
	const json_t *addl = json_object_get(sch, "additionalProperties");
	const json_t *req = json_object_get(sch, "required");
	const char *key;
	json_t *val;
	size_t i;
	json_array_foreach(req, i, val)
	{
		if (!json_object_get(inst, json_string_value(val)))
			har_errs_add(c->errs, path, "missing required key \"%s\"",
				     json_string_value(val));
	}
	json_object_foreach((json_t *)inst, key, val)
	{
		const json_t *ps = props ? json_object_get(props, key) : NULL;
		size_t len = path_push_key(path, key);
		if (ps) {
			v_node(c, ps, val, path);
		} else if (json_is_false(addl)) {
			char allowed[400] = "";
			const char *k;
			json_t *unused;
			json_object_foreach((json_t *)props, k, unused)
			{
				size_t l = strlen(allowed);
				snprintf(allowed + l, sizeof(allowed) - l, "%s%s", l ? ", " : "",
					 k);
			}
			path[len] = '\0';
			har_errs_add(c->errs, path, "unknown key \"%s\" (allowed: %s)", key,
				     allowed[0] ? allowed : "none");
		} else if (json_is_object(addl)) {
			v_node(c, addl, val, path);
		}
		path[len] = '\0';
	}
}

/* "items", "minItems" and "maxItems" of an array. */
static void v_array(struct vctx *c, const json_t *sch, const json_t *inst, char *path)
{
	const json_t *items = json_object_get(sch, "items");
	const json_t *min = json_object_get(sch, "minItems");
	const json_t *max = json_object_get(sch, "maxItems");
	size_t i, n = json_array_size(inst);
	json_t *v;
	if (min && (json_int_t)n < json_integer_value(min))
		har_errs_add(c->errs, path, "needs at least %lld items, has %zu",
			     (long long)json_integer_value(min), n);
	if (max && (json_int_t)n > json_integer_value(max))
		har_errs_add(c->errs, path, "allows at most %lld items, has %zu",
			     (long long)json_integer_value(max), n);
	if (!json_is_object(items))
		return;
	json_array_foreach(inst, i, v)
	{
		size_t len = path_push_index(path, i);
		v_node(c, items, v, path);
		path[len] = '\0';
	}
}

/* "minimum" and "maximum" (inclusive) of a number. */
static void v_number(struct vctx *c, const json_t *sch, const json_t *inst, const char *path)
{
	const json_t *min = json_object_get(sch, "minimum");
	const json_t *max = json_object_get(sch, "maximum");
	double x = json_number_value(inst);
	if (min && x < json_number_value(min))
		har_errs_add(c->errs, path, "%g is below the minimum %g", x,
			     json_number_value(min));
	if (max && x > json_number_value(max))
		har_errs_add(c->errs, path, "%g is above the maximum %g", x,
			     json_number_value(max));
}

/* "minLength", "maxLength" and "pattern" of a string. */
static void v_string(struct vctx *c, const json_t *sch, const json_t *inst, const char *path)
{
	const json_t *minl = json_object_get(sch, "minLength");
	const json_t *maxl = json_object_get(sch, "maxLength");
	const json_t *pat = json_object_get(sch, "pattern");
	const char *s = json_string_value(inst);
	size_t len = json_string_length(inst);
	if (minl && (json_int_t)len < json_integer_value(minl))
		har_errs_add(c->errs, path, "\"%s\" is shorter than %lld characters", s,
			     (long long)json_integer_value(minl));
	if (maxl && (json_int_t)len > json_integer_value(maxl))
		har_errs_add(c->errs, path, "string is longer than %lld characters",
			     (long long)json_integer_value(maxl));
	if (!pat)
		return;
	regex_t re;
	if (regcomp(&re, json_string_value(pat), REG_EXTENDED | REG_NOSUB) != 0) {
		har_errs_add(c->errs, path, "schema pattern %s does not compile",
			     json_string_value(pat));
		return;
	}
	if (regexec(&re, s, 0, NULL, 0) != 0)
		har_errs_add(c->errs, path, "\"%s\" does not match the pattern %s", s,
			     json_string_value(pat));
	regfree(&re);
}

/* Follows $ref chains to the schema object a branch really is. */
static const json_t *deref(const json_t *root, const json_t *sch)
{
	for (int i = 0; i < REF_DEPTH_MAX && sch; i++) {
		const json_t *ref = json_object_get(sch, "$ref");
		if (!ref)
			return sch;
		sch = ref_resolve(root, json_string_value(ref));
	}
	return sch;
}

/* True when inst has every key a branch requires (its "form" matches). */
static int branch_form_matches(const json_t *branch, const json_t *inst)
{
	const json_t *req = json_object_get(branch, "required");
	size_t i;
	json_t *k;
	if (!json_is_array(req) || json_array_size(req) == 0 || !json_is_object(inst))
		return 0;
	json_array_foreach(req, i, k)
	{
		if (!json_object_get(inst, json_string_value(k)))
			return 0;
	}
	return 1;
}

/* When no branch's required keys are present, say which forms exist: far
 * clearer than every branch's complaints ("unknown step" rather than noise). */
static int report_no_form(struct vctx *c, const json_t *sch, const json_t *alts, const json_t *inst,
			  const char *path)
{
	char forms[400] = "", keys[200] = "";
	size_t i;
	json_t *b;
	const char *k;
	if (!json_is_object(inst))
		return 0;
	json_array_foreach(alts, i, b)
	{
		const json_t *br = deref(c->root, b);
		const json_t *req = br ? json_object_get(br, "required") : NULL;
		if (!json_is_array(req) || json_array_size(req) == 0 ||
		    branch_form_matches(br, inst))
			return 0;
		size_t len = strlen(forms);
		snprintf(forms + len, sizeof(forms) - len, "%s\"%s\"", i ? ", " : "",
			 json_string_value(json_array_get(req, 0)));
	}
	json_object_foreach((json_t *)inst, k, b)
	{
		size_t len = strlen(keys);
		snprintf(keys + len, sizeof(keys) - len, "%s\"%s\"", len ? ", " : "", k);
	}
	const char *title = json_string_value(json_object_get(sch, "title"));
	har_errs_add(c->errs, path, "unknown %s: it has the keys {%s}, expected one of the keys %s",
		     title ? title : "kind of object", keys, forms);
	return 1;
}

/* oneOf (exactly one branch) or anyOf (at least one). On failure the branch
 * whose form matches (or with the fewest errors) explains what is wrong. */
static void v_alternatives(struct vctx *c, const json_t *sch, const json_t *alts,
			   const json_t *inst, char *path, int exactly_one)
{
	struct har_errs best = {0};
	size_t i, valid = 0, best_score = (size_t)-1;
	json_t *b;
	json_array_foreach(alts, i, b)
	{
		struct har_errs tmp = {0};
		struct vctx sub = {c->root, &tmp, c->depth};
		v_node(&sub, b, inst, path);
		const json_t *br = deref(c->root, b);
		size_t score = tmp.n + (br && branch_form_matches(br, inst) ? 0 : 10000);
		if (tmp.n == 0)
			valid++;
		if (tmp.n > 0 && score < best_score) {
			har_errs_free(&best);
			best = tmp;
			best_score = score;
		} else {
			har_errs_free(&tmp);
		}
	}
	if (exactly_one && valid > 1)
		har_errs_add(c->errs, path, "matches %zu alternatives, expected exactly one",
			     valid);
	if (valid == 0 && !report_no_form(c, sch, alts, inst, path))
		har_errs_move(c->errs, &best);
	har_errs_free(&best);
}

/* Applies every keyword of one schema object to one instance value. */
static void v_node(struct vctx *c, const json_t *sch, const json_t *inst, char *path)
{
	const json_t *kw;
	if (json_is_true(sch) || !json_is_object(sch))
		return;
	if ((kw = json_object_get(sch, "$ref"))) {
		const json_t *target = ref_resolve(c->root, json_string_value(kw));
		if (!target || c->depth >= REF_DEPTH_MAX) {
			har_errs_add(c->errs, path, "schema $ref %s cannot be followed",
				     json_string_value(kw));
			return;
		}
		c->depth++;
		v_node(c, target, inst, path);
		c->depth--;
	}
	if ((kw = json_object_get(sch, "type")) && v_type(c, kw, inst, path) != 0)
		return;
	if ((kw = json_object_get(sch, "enum")))
		v_enum(c, kw, inst, path);
	if ((kw = json_object_get(sch, "const"))) {
		json_t *one = json_pack("[O]", kw);
		v_enum(c, one, inst, path);
		json_decref(one);
	}
	if (json_is_object(inst))
		v_object(c, sch, inst, path);
	else if (json_is_array(inst))
		v_array(c, sch, inst, path);
	else if (json_is_number(inst))
		v_number(c, sch, inst, path);
	else if (json_is_string(inst))
		v_string(c, sch, inst, path);
	if ((kw = json_object_get(sch, "oneOf")))
		v_alternatives(c, sch, kw, inst, path, 1);
	if ((kw = json_object_get(sch, "anyOf")))
		v_alternatives(c, sch, kw, inst, path, 0);
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(sch, "allOf"), i, b) v_node(c, b, inst, path);
}

/* Entry point: collects every violation with its JSON path. */
size_t har_schema_validate(const json_t *schema, const json_t *inst, struct har_errs *errs)
{
	char path[PATH_MAX_LEN] = "$";
	size_t before = errs->n;
	struct vctx c = {schema, errs, 0};
	v_node(&c, schema, inst, path);
	return errs->n - before;
}

/* True when key is a keyword this validator implements. */
static int keyword_supported(const char *key)
{
	for (size_t i = 0; supported_keywords[i]; i++)
		if (strcmp(supported_keywords[i], key) == 0)
			return 1;
	return 0;
}

static void check_node(const json_t *root, const json_t *sch, char *ptr, struct har_errs *errs);

/* Checks each schema of an object-of-schemas (properties, $defs). */
static void check_map(const json_t *root, const json_t *map, char *ptr, const char *kw,
		      struct har_errs *errs)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)map, k, v)
	{
		size_t len = strlen(ptr);
		snprintf(ptr + len, PATH_MAX_LEN - len, "/%s/%s", kw, k);
		check_node(root, v, ptr, errs);
		ptr[len] = '\0';
	}
}

/* Checks each schema of an array-of-schemas (oneOf, anyOf, allOf). */
static void check_list(const json_t *root, const json_t *list, char *ptr, const char *kw,
		       struct har_errs *errs)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		size_t len = strlen(ptr);
		snprintf(ptr + len, PATH_MAX_LEN - len, "/%s/%zu", kw, i);
		check_node(root, v, ptr, errs);
		ptr[len] = '\0';
	}
}

/* Refuses unknown keywords, unresolvable $refs and bad regexes up front. */
static void check_node(const json_t *root, const json_t *sch, char *ptr, struct har_errs *errs)
{
	const char *k;
	json_t *v;
	if (json_is_boolean(sch))
		return;
	if (!json_is_object(sch)) {
		har_errs_add(errs, ptr, "a schema must be an object or a boolean");
		return;
	}
	json_object_foreach((json_t *)sch, k, v)
	{
		if (!keyword_supported(k))
			har_errs_add(errs, ptr, "unsupported schema keyword \"%s\"", k);
	}
	if ((v = json_object_get(sch, "$ref")) &&
	    !ref_resolve(root, json_string_value(v) ? json_string_value(v) : ""))
		har_errs_add(errs, ptr, "$ref %s does not resolve", json_string_value(v));
	regex_t re;
	if ((v = json_object_get(sch, "pattern"))) {
		if (!json_is_string(v) || regcomp(&re, json_string_value(v), REG_EXTENDED) != 0)
			har_errs_add(errs, ptr, "pattern does not compile");
		else
			regfree(&re);
	}
	check_map(root, json_object_get(sch, "properties"), ptr, "properties", errs);
	check_map(root, json_object_get(sch, "$defs"), ptr, "$defs", errs);
	check_list(root, json_object_get(sch, "oneOf"), ptr, "oneOf", errs);
	check_list(root, json_object_get(sch, "anyOf"), ptr, "anyOf", errs);
	check_list(root, json_object_get(sch, "allOf"), ptr, "allOf", errs);
	if ((v = json_object_get(sch, "items")))
		check_node(root, v, ptr, errs);
	if ((v = json_object_get(sch, "additionalProperties")))
		check_node(root, v, ptr, errs);
}

/* Entry point of the schema self-check. */
size_t har_schema_check(const json_t *schema, struct har_errs *errs)
{
	char ptr[PATH_MAX_LEN] = "#";
	size_t before = errs->n;
	check_node(schema, schema, ptr, errs);
	return errs->n - before;
}

/* The schema itself is checked, so a typo in it cannot pass everything. */
json_t *har_schema_load(const char *file, struct har_errs *errs)
{
	json_error_t jerr;
	json_t *schema = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
	if (!schema) {
		char where[64];
		snprintf(where, sizeof(where), "line %d, column %d", jerr.line, jerr.column);
		har_errs_add(errs, where, "%s", jerr.text);
		return NULL;
	}
	if (har_schema_check(schema, errs) != 0) {
		json_decref(schema);
		return NULL;
	}
	return schema;
}
