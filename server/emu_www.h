#ifndef EMU_WWW_H
#define EMU_WWW_H
#include <stddef.h>

/* The dashboard's files (server/www/), built into the binary at build time
 * by scripts/embed-www.sh: no disk, CDN or network at run time. */
struct emu_www_file {
	const char *path; /* "/index.html", "/app.js", ... */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
};

/* The generated table, ended by a NULL path. */
extern const struct emu_www_file emu_www_files[];

/* The file served at url ("/" is /index.html), or NULL. */
const struct emu_www_file *emu_www_find(const char *url);

#endif
