#ifndef EMU_JSTREAM_H
#define EMU_JSTREAM_H
#include <jansson.h>
#include <stddef.h>

/* A JSON file whose top level is an object, read without building the tree
 * of one big array member: each element of that member is parsed on its
 * own, handed to a callback and freed at once; the other members come back
 * as a tree. A fleet's config holds a million $.psk entries, ~600 MB as one
 * jansson tree, a few hundred bytes one element at a time. Everything else
 * is jansson's parser (values, strings, duplicates), so the file is accepted
 * or refused exactly as json_load_file would (JSON_REJECT_DUPLICATES). */

/* Called for element index of the streamed member; < 0 stops the calls
 * (the reader still checks the rest of the file's syntax). */
typedef int (*emu_jstream_fn)(void *ctx, size_t index, const json_t *item);

enum emu_jstream_status {
	EMU_JSTREAM_OK,	      /* *root: the members but the streamed one */
	EMU_JSTREAM_SYNTAX,   /* jerr: json_load_file's own error for the file */
	EMU_JSTREAM_CALLBACK, /* each returned < 0; the file's syntax is good */
};

/* Reads path; key's array elements go to each, in order. A key whose value
 * is no array stays in *root like any other member (the caller's checks
 * name it), and so does the whole document, key included, of a file with
 * a NUL byte (jansson's quirks there are its own). *root is NULL unless
 * EMU_JSTREAM_OK. */
enum emu_jstream_status emu_jstream_load(const char *path, const char *key, emu_jstream_fn each,
					 void *ctx, json_t **root, json_error_t *jerr);

#endif
