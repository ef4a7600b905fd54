#ifndef HAR_EXPECT_H
#define HAR_EXPECT_H
#include <jansson.h>

#include "har_ctx.h"

/* Expectations over the merged timeline, as steps or at the end:
 *   {"expect_event": M, "within_ms": N}    a matching event appears
 *   {"expect_absent": M, "for_ms": N}      none appears during the period
 *   {"expect_count": M, "count": N | {"min": a, "max": b}, "within_ms": N}
 *   {"expect_order": [M1, M2, ...], "within_ms": N}   in this order (by ts)
 * each with "since": "start" | "last_action" (default: last_action for a
 * step, start for a final expectation). */

/* True when item is one of the expectation kinds above. */
int har_expect_is(const json_t *item);
/* Its kind's name ("expect_event", ...). */
const char *har_expect_kind(const json_t *item);
/* Waits for and checks one expectation. Returns 0 if it held, -1 if not
 * (c->fail then says what was expected and what was seen instead). */
int har_expect_run(struct har_ctx *c, const json_t *item, int final);
/* Describes count: "exactly 2", "between 1 and 3", "at least 1". */
void har_expect_count_text(const json_t *count, char *out, size_t size);
/* True when n satisfies count (an integer or {"min","max"}). */
int har_expect_count_ok(const json_t *count, size_t n);

#endif
