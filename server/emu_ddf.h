#ifndef EMU_DDF_H
#define EMU_DDF_H
#include <stddef.h>

#include "emu_model.h"

/* OMA LwM2M DDF (Data Definition File) XML, as the OMA object registry
 * publishes it (<LWM2M><Object><Name/><ObjectID/><MultipleInstances/>
 * <Resources><Item ID="n"><Name/><Operations/><MultipleInstances/>
 * <Type/>...), parsed with libxml2 into an object model. Input is
 * untrusted: no network, no DTD, no entity expansion, sizes bounded; every
 * error names the file, the line and the element. */

#define EMU_DDF_FILE_MAX (1u << 20) /* bytes */
#define EMU_DDF_RESOURCES_MAX 4096

/* Parses a DDF held in buf; file names it in errors and becomes the
 * model's source. NULL with err ("FILE:LINE: <Element>: what is wrong"). */
struct emu_obj_model *emu_ddf_parse(const char *file, const char *buf, size_t len, char *err,
				    size_t err_size);
/* Reads a DDF file (at most EMU_DDF_FILE_MAX bytes) and parses it. */
struct emu_obj_model *emu_ddf_load_file(const char *path, char *err, size_t err_size);

#endif
