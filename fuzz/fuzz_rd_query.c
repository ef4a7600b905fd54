/* libFuzzer target: the LwM2M Register/Update query parser
 * (emu_lwm2m_parse_query: ep, lt, lwm2m, b, Q), exactly as the /rd handlers
 * call it with the default lifetime bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "emu_lwm2m.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Both as a Register (ep required) and as an Update (ep optional). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct emu_rd_query q;
	char err[160];
	for (int need_ep = 0; need_ep <= 1; need_ep++) {
		if (emu_lwm2m_parse_query((const char *)data, size, 1, 86400, need_ep, &q, err,
					  sizeof(err)) < 0)
			continue;
		/* Accepted values must be terminated strings within their buffers. */
		if ((q.has_ep && !memchr(q.ep, '\0', sizeof(q.ep))) ||
		    (q.has_b && !memchr(q.b, '\0', sizeof(q.b))) ||
		    (q.lt != -1 && (q.lt < 1 || q.lt > 86400)) || (need_ep && !q.has_ep))
			__builtin_trap();
	}
	return 0;
}
