#ifndef HAR_MATCH_H
#define HAR_MATCH_H
#include <jansson.h>
#include <stddef.h>

#include "har_err.h"

/* Matching of events and command replies against scenario expectations.
 *
 * A field matcher is a JSON value: a plain value must be equal (numbers are
 * compared numerically), an object matches a subset of the actual object's
 * keys, an array matches element by element, and an operator object tests
 * the value: {"$regex": RE} (POSIX extended, searched), {"$min": N},
 * {"$max": N}, {"$exists": BOOL}, {"$ne": V}, {"$in": [V, ...]}. */

/* True when have (NULL = the field is missing) satisfies the matcher want. */
int har_match_value(const json_t *want, const json_t *have);
/* True when the event satisfies {"src":..., "event":..., "fields":{...}}. */
int har_match_event(const json_t *match, const json_t *event);
/* Writes why have does not satisfy want, naming the first differing field
 * ("alert.name: expected \"bad_record_mac\", got \"decrypt_error\"").
 * Returns 0 when it does match (out is then empty). */
int har_match_explain(const json_t *want, const json_t *have, char *out, size_t size);
/* Checks matchers before anything runs: unknown $operators, regexes that do
 * not compile, $min/$max that are not numbers. path names the matcher's JSON
 * path. Returns the number of problems added. */
size_t har_match_check(const json_t *want, const char *path, struct har_errs *errs);
/* A one-line text of a matcher, for failure messages. */
char *har_match_text(const json_t *match);

#endif
