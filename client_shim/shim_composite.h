/* shim_composite.h: the LwM2M 1.1 composite operations on the root path
 * (OMA-TS-LightweightM2M_Core-V1_1 §6.3.8-§6.3.10): Read-Composite and
 * Observe-Composite (FETCH, Observe 0 / 1 with the same token to cancel)
 * with a SenML JSON list of paths, and Write-Composite (iPATCH) with SenML
 * JSON records. Paths the client does not have are left out of a
 * Read-Composite answer (4.04 only when none is there); a Write-Composite
 * is checked whole before anything is stored. */
#ifndef SHIM_COMPOSITE_H
#define SHIM_COMPOSITE_H

#include "client_shim/shim_client.h"

/* Adds the root resource with FETCH and iPATCH to the context; 0 or -1. */
int shim_composite_init(shim_client_t *c);

#endif
