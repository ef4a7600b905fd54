#ifndef HAR_SCHEMA_H
#define HAR_SCHEMA_H
#include <jansson.h>

#include "har_err.h"

/* A small JSON Schema (draft 2020-12) validator for the subset the scenario
 * schema uses: type, properties, required, additionalProperties, enum, const,
 * items, minItems/maxItems, minimum/maximum, minLength/maxLength, pattern
 * (POSIX extended), oneOf/anyOf/allOf and "$ref" to "#/$defs/...". A schema
 * that uses anything else is refused when loaded, so nothing is silently
 * ignored. */

/* Loads and checks a schema file. Returns the schema (caller decrefs) or NULL
 * with the reasons in errs (paths are JSON pointers into the schema). */
json_t *har_schema_load(const char *file, struct har_errs *errs);
/* Checks that a schema only uses supported keywords and that every $ref
 * resolves. Returns the number of problems added to errs. */
size_t har_schema_check(const json_t *schema, struct har_errs *errs);
/* Validates inst against schema; every violation is added to errs with the
 * JSON path of the offending value ("$.steps[2].client"). Returns the number
 * of violations (0 = valid). */
size_t har_schema_validate(const json_t *schema, const json_t *inst, struct har_errs *errs);

#endif
