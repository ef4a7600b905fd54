#include "har_match.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>

#define MATCH_PATH_MAX 256

/* True when an object is an operator object ({"$regex": ...}). */
static int is_operator_object(const json_t *want)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)want, k, v)
	{
		if (k[0] == '$')
			return 1;
	}
	return 0;
}

/* POSIX extended regex search; a pattern that fails to compile never
 * matches (har_match_check reports it before running). */
static int regex_search(const char *pattern, const char *s)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	int rc = regexec(&re, s, 0, NULL, 0);
	regfree(&re);
	return rc == 0;
}

/* Evaluates one operator against have (NULL when the field is missing). */
static int op_match(const char *op, const json_t *arg, const json_t *have)
{
	if (strcmp(op, "$exists") == 0)
		return json_is_true(arg) == (have != NULL);
	if (strcmp(op, "$ne") == 0)
		return !har_match_value(arg, have);
	if (!have)
		return 0;
	if (strcmp(op, "$regex") == 0)
		return json_is_string(have) &&
		       regex_search(json_string_value(arg), json_string_value(have));
	if (strcmp(op, "$min") == 0)
		return json_is_number(have) && json_number_value(have) >= json_number_value(arg);
	if (strcmp(op, "$max") == 0)
		return json_is_number(have) && json_number_value(have) <= json_number_value(arg);
	if (strcmp(op, "$in") == 0) {
		size_t i;
		json_t *v;
		json_array_foreach(arg, i, v)
		{
			if (har_match_value(v, have))
				return 1;
		}
		return 0;
	}
	return 0;
}

/* Every operator of the object must hold. */
static int ops_match(const json_t *want, const json_t *have)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)want, k, v)
	{
		if (!op_match(k, v, have))
			return 0;
	}
	return 1;
}

/* Subset match: every key of want must match the same key of have. */
static int object_match(const json_t *want, const json_t *have)
{
	const char *k;
	json_t *v;
	if (!json_is_object(have))
		return 0;
	json_object_foreach((json_t *)want, k, v)
	{
		if (!har_match_value(v, json_object_get(have, k)))
			return 0;
	}
	return 1;
}

/* Arrays match element by element and must have the same length. */
static int array_match(const json_t *want, const json_t *have)
{
	size_t i;
	json_t *v;
	if (!json_is_array(have) || json_array_size(have) != json_array_size(want))
		return 0;
	json_array_foreach(want, i, v)
	{
		if (!har_match_value(v, json_array_get(have, i)))
			return 0;
	}
	return 1;
}

/* The one rule set for events and replies alike. */
int har_match_value(const json_t *want, const json_t *have)
{
	if (json_is_object(want))
		return is_operator_object(want) ? ops_match(want, have) : object_match(want, have);
	if (!have)
		return 0;
	if (json_is_array(want))
		return array_match(want, have);
	if (json_is_number(want))
		return json_is_number(have) && json_number_value(want) == json_number_value(have);
	return json_equal((json_t *)want, (json_t *)have);
}

/* src and event select the kind; fields then match as a subset. */
int har_match_event(const json_t *match, const json_t *event)
{
	const json_t *src = json_object_get(match, "src");
	const json_t *name = json_object_get(match, "event");
	const json_t *fields = json_object_get(match, "fields");
	if (src && !json_equal((json_t *)src, json_object_get(event, "src")))
		return 0;
	if (name && !json_equal((json_t *)name, json_object_get(event, "event")))
		return 0;
	return !fields || object_match(fields, event);
}

/* Compact JSON of a value, or "(missing)". */
static void short_text(const json_t *v, char *out, size_t size)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	snprintf(out, size, "%s", s ? s : "(missing)");
	free(s);
}

/* Recursive worker of har_match_explain; path is the field path so far. */
static int explain_at(const json_t *want, const json_t *have, char *path, char *out, size_t size)
{
	if (har_match_value(want, have))
		return 0;
	if (json_is_object(want) && !is_operator_object(want) && json_is_object(have)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)want, k, v)
		{
			size_t len = strlen(path);
			snprintf(path + len, MATCH_PATH_MAX - len, "%s%s", len ? "." : "", k);
			int r = explain_at(v, json_object_get(have, k), path, out, size);
			path[len] = '\0';
			if (r)
				return r;
		}
	}
	char w[160], h[160];
	short_text(want, w, sizeof(w));
	short_text(have, h, sizeof(h));
	snprintf(out, size, "%s%sexpected %s, got %s", path, path[0] ? ": " : "", w, h);
	return 1;
}

/* Names the first differing field, the most useful line of a failure. */
int har_match_explain(const json_t *want, const json_t *have, char *out, size_t size)
{
	char path[MATCH_PATH_MAX] = "";
	if (size)
		out[0] = '\0';
	return explain_at(want, have, path, out, size);
}

/* Checks one operator's argument type. */
static void check_op(const char *op, const json_t *arg, const char *path, struct har_errs *errs)
{
	regex_t re;
	if (strcmp(op, "$regex") == 0) {
		if (!json_is_string(arg) ||
		    regcomp(&re, json_string_value(arg), REG_EXTENDED | REG_NOSUB) != 0)
			har_errs_add(errs, path, "$regex must be a POSIX extended regex string");
		else
			regfree(&re);
	} else if (strcmp(op, "$min") == 0 || strcmp(op, "$max") == 0) {
		if (!json_is_number(arg))
			har_errs_add(errs, path, "%s must be a number", op);
	} else if (strcmp(op, "$exists") == 0) {
		if (!json_is_boolean(arg))
			har_errs_add(errs, path, "$exists must be true or false");
	} else if (strcmp(op, "$in") == 0) {
		if (!json_is_array(arg))
			har_errs_add(errs, path, "$in must be an array of values");
	} else if (strcmp(op, "$ne") != 0) {
		har_errs_add(errs, path,
			     "unknown matcher operator \"%s\" (known: $regex, $min, $max, "
			     "$exists, $ne, $in)",
			     op);
	}
}

/* Bad operators and regexes are scenario errors, found before running. */
size_t har_match_check(const json_t *want, const char *path, struct har_errs *errs)
{
	size_t before = errs->n;
	char sub[MATCH_PATH_MAX];
	const char *k;
	json_t *v;
	size_t i;
	if (json_is_object(want)) {
		int ops = is_operator_object(want);
		json_object_foreach((json_t *)want, k, v)
		{
			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			if (ops)
				check_op(k, v, sub, errs);
			else
				har_match_check(v, sub, errs);
		}
	} else if (json_is_array(want)) {
		json_array_foreach(want, i, v)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			har_match_check(v, sub, errs);
		}
	}
	return errs->n - before;
}

/* Failure messages quote the matcher exactly as written. */
char *har_match_text(const json_t *match)
{
	return json_dumps(match, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}
