/* Looks up the dashboard files built into the binary (emu_www.h). */
#include "emu_www.h"

#include <string.h>

/* "/" is the dashboard's page; every other path is looked up as is. */
const struct emu_www_file *emu_www_find(const char *url)
{
	const char *path = strcmp(url, "/") == 0 ? "/index.html" : url;
	for (const struct emu_www_file *f = emu_www_files; f->path; f++)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}
