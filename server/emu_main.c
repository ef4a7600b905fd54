/* lwm2m-emulator: flags and config, event sinks, then the server loop. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "emu_config.h"
#include "emu_control.h"
#include "emu_ctl.h"
#include "emu_server.h"
#include "emu_events.h"
#include "emu_state.h"
#include "lh_event.h"

/* A stream nobody can read (/dev/null): events are not formatted for it. */
static FILE *readable(FILE *f)
{
	struct stat st;
	if (f && fstat(fileno(f), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		return NULL;
	return f;
}

/* Points the JSON and human event streams where the flags say. */
static int setup_events(const struct emu_config *cfg, FILE **file)
{
	*file = NULL;
	if (!cfg->events) {
		lh_event_init(NULL, "emulator", readable(stdout), lh_event_human_kv);
		return 0;
	}
	if (strcmp(cfg->events, "-") == 0) {
		lh_event_init(readable(stdout), "emulator", readable(stderr), lh_event_human_kv);
		return 0;
	}
	*file = fopen(cfg->events, "a");
	if (!*file) {
		fprintf(stderr, "lwm2m-emulator: --events %s: cannot open for writing\n",
			cfg->events);
		return -1;
	}
	lh_event_init(readable(*file), "emulator", readable(stdout), lh_event_human_kv);
	return 0;
}

/* Tells the person at the terminal which PSKs work. */
static void print_credentials(const struct emu_config *cfg)
{
	FILE *out = cfg->events && strcmp(cfg->events, "-") == 0 ? stderr : stdout;
	struct emu_psk_view p;
	size_t cursor = 0;
	while (emu_psks_next(&cfg->psk, &cursor, &p)) {
		fprintf(out, "psk identity \"%s\" key hex ", p.identity);
		for (size_t j = 0; j < p.key_len; j++)
			fprintf(out, "%02x", p.key[j]);
		fputc('\n', out);
	}
	fflush(out);
}

/* A SIGHUP that comes while the config loads (seconds with a million PSK
 * identities) would kill the process: its handler, the loop's signalfd,
 * exists only once the server is up. Blocked from the start, it stays
 * pending, and the signalfd reads it as a reload right after start. */
static void hold_sighup(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int main(int argc, char **argv)
{
	struct emu_config cfg;
	struct emu_server srv;
	char err[512];
	FILE *events = NULL;
	int ret = 2;
	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return emu_ctl_main(argc - 2, argv + 2);
	hold_sighup();
	emu_config_defaults(&cfg);
	switch (emu_config_parse_args(&cfg, argc, argv, stdout, err, sizeof(err))) {
	case EMU_ARGS_EXIT_OK:
		ret = 0;
		goto exit;
	case EMU_ARGS_ERROR:
		fprintf(stderr, "lwm2m-emulator: %s\n", err);
		goto exit;
	case EMU_ARGS_RUN:
		break;
	}
	if (cfg.print_config) {
		json_t *effective = emu_config_to_json(&cfg);
		json_dumpf(effective, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(effective);
		ret = 0;
		goto exit;
	}
	/* Paths that would replace or expose someone's files: usage errors. */
	if ((cfg.control && emu_control_check(cfg.control) < 0) ||
	    (cfg.state && emu_state_check(cfg.state) < 0))
		goto exit;
	if (setup_events(&cfg, &events) < 0)
		goto exit;
	lh_event_defer_flush(1); /* the loop flushes once per turn */
	signal(SIGPIPE, SIG_IGN);
	ret = 1;
	if (emu_server_init(&srv, &cfg) == 0) {
		srv.argc = argc; /* for reload (SIGHUP, ctl reload) */
		srv.argv = argv;
		print_credentials(&cfg);
		if (emu_server_run(&srv) == 0)
			ret = 0;
	}
	emu_server_fini(&srv);
	lh_event_defer_flush(0);
exit:
	if (events)
		fclose(events);
	emu_config_free(&cfg);
	return ret;
}
