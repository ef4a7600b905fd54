#ifndef HAR_ERR_H
#define HAR_ERR_H
#include <stddef.h>

/* A list of validation errors, each with the JSON path it is about, so a
 * scenario author sees every problem of a file at once, not just the first. */
struct har_err {
	char *path;
	char *msg;
};

struct har_errs {
	struct har_err *v;
	size_t n;
	size_t cap;
};

/* Appends one error (printf-style message) at path. */
void har_errs_add(struct har_errs *e, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Moves every error of src to the end of dst and empties src. */
void har_errs_move(struct har_errs *dst, struct har_errs *src);
/* Frees the messages and resets the list to empty. */
void har_errs_free(struct har_errs *e);

#endif
