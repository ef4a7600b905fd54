/* One lh_event sink fanned out to both front ends (emu_sink.h). */
#include "emu_sink.h"

#include "emu_control.h"
#include "emu_http.h"
#include "emu_server.h"
#include "lh_event.h"

/* Every event, to the control subscribers and to the HTTP clients. */
static void publish(void *ctx, const json_t *event)
{
	struct emu_server *srv = ctx;
	if (srv->ctl_fd >= 0)
		emu_control_publish(srv, event);
	if (srv->http)
		emu_http_publish(srv, event);
}

void emu_sink_update(struct emu_server *srv)
{
	if (srv->ctl_fd >= 0 || srv->http)
		lh_event_set_sink(publish, srv);
	else
		lh_event_set_sink(NULL, NULL);
}
