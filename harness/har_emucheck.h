#ifndef HAR_EMUCHECK_H
#define HAR_EMUCHECK_H
#include <jansson.h>

#include "har_err.h"

/* Asks the emulator program itself whether a scenario's emulator config is
 * valid (`lwm2m-emulator --config FILE --print-config`). The emulator's own
 * strict loader is the one schema for its config, so the harness and the
 * emulator cannot disagree about what a config may contain. Errors are added
 * under "$.emulator..."; returns 0 when the emulator accepts the config. */
int har_emucheck_config(const char *emulator, const json_t *config, struct har_errs *errs);

#endif
