/* Bounds on what peers can make the emulator hold (see emu_limits.h). */
#include "emu_limits.h"

#include "emu_reload.h"
#include "emu_server.h"
#include "lh_event.h"
#include "lh_time.h"

/* The config names, as in $.limits. */
static const char *const names[EMU_LIMIT_COUNT] = {"limits.handshakes", "limits.tls_connections",
						   "limits.control_clients", "limits.block1_bytes"};

uint64_t emu_limit_max(const struct emu_server *srv, enum emu_limit l)
{
	return emu_gen_cfg(srv)->limits[l];
}

void emu_limit_report(struct emu_server *srv, const char *name, uint64_t max, const char *what)
{
	lh_event_emitf("limit_reached", "{s:s, s:I, s:s}", "limit", name, "max", (json_int_t)max,
		       "refused", what);
	(void)srv;
}

int emu_limit_take(struct emu_server *srv, enum emu_limit l, uint64_t n, const char *what)
{
	struct emu_limits *lim = &srv->limits;
	uint64_t max = emu_limit_max(srv, l);
	if (lim->used[l] + n <= max) {
		lim->used[l] += n;
		return 0;
	}
	int64_t now = lh_time_mono_ms();
	if (now - lim->reported_ms[l] >= 1000 || lim->reported_ms[l] == 0) {
		lim->reported_ms[l] = now;
		emu_limit_report(srv, names[l], max, what);
	}
	return -1;
}

void emu_limit_give(struct emu_server *srv, enum emu_limit l, uint64_t n)
{
	struct emu_limits *lim = &srv->limits;
	lim->used[l] = lim->used[l] >= n ? lim->used[l] - n : 0;
}
