/* The idle timeout of open DTLS sessions; see emu_idle.h. */
#include "emu_idle.h"

#include <stdio.h>

#include "emu_device.h"
#include "emu_reload.h"
#include "emu_server.h"
#include "lh_time.h"

/* The configured timeout in ms (0: off), read when needed so a reload
 * applies at each session's next datagram or check. */
static int64_t idle_ms(const struct emu_session *s)
{
	return (int64_t)emu_gen_cfg(s->srv)->dtls_idle_s * 1000;
}

/* (Re-)arms the session's timer slot at due. */
static void arm(struct emu_session *s, int64_t due)
{
	s->timer_gen++;
	s->timer_fin = due;
	if (emu_timers_push(&s->srv->timers, due, s->id, s->timer_gen) < 0)
		fprintf(stderr, "lwm2m-emulator: out of memory for a timer (session %llu)\n",
			(unsigned long long)s->id);
}

void emu_idle_touch(struct emu_session *s)
{
	s->last_in_ms = lh_time_mono_ms();
	if (idle_ms(s) > 0 && s->timer_fin == 0)
		arm(s, s->last_in_ms + idle_ms(s));
}

int emu_idle_holds_registration(const struct emu_session *s)
{
	struct emu_reg *r = emu_device_of(s);
	return r && r->expires_ms > lh_time_mono_ms();
}

int emu_idle_timer(struct emu_session *s)
{
	int64_t now = lh_time_mono_ms(), ms = idle_ms(s);
	s->timer_fin = 0;
	if (ms == 0)
		return 0; /* turned off by a reload */
	if (now < s->last_in_ms + ms) {
		arm(s, s->last_in_ms + ms);
		return 0;
	}
	if (emu_idle_holds_registration(s)) {
		arm(s, now + ms);
		return 0;
	}
	emu_session_close(s, "idle_timeout");
	return 1;
}
