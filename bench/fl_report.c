/* fl_report: what a fleet run prints: a table for people, the same numbers as
 * JSON for scripts and plots (--json), and a live progress line on a TTY. */
#include "fl_fleet.h"

#include <stdio.h>
#include <unistd.h>

static const char *const op_names[FL_OP_COUNT] = {"handshake", "resumed_handshake", "register",
						  "update"};

/* See fl_fleet.h. */
uint64_t fl_errors_total(const struct fl_errors *e)
{
	return e->hs_timeout + e->hs_failed + e->alerts + e->refused + e->req_timeout +
	       e->coap_4xx + e->coap_5xx + e->resets + e->other + e->unfinished;
}

/* Successful operations of kind op. */
static uint64_t op_count(const struct fl_fleet *f, int op)
{
	const struct fl_counts *c = &f->c;
	switch (op) {
	case FL_OP_HANDSHAKE:
		return c->hs_full;
	case FL_OP_RESUME:
		return c->hs_resumed;
	case FL_OP_REGISTER:
		return c->reg_ok + c->rereg_ok;
	default:
		return c->upd_ok;
	}
}

/* The seconds an operation's rate is over: Updates over the time turns
 * were on; handshakes and Registers over the ramp-up when they all happened
 * in it (no reconnects, no re-Registers); else the whole run. */
static double op_secs(const struct fl_fleet *f, int op, const struct fl_report *r)
{
	double s = r->secs;
	if (op == FL_OP_UPDATE && r->turn_secs > 0)
		s = r->turn_secs;
	else if (op != FL_OP_UPDATE && r->ramp_secs > 0 && !f->c.reconnects && !f->c.rereg_ok)
		s = r->ramp_secs;
	return s > 0 ? s : 1;
}

/* One row: count, rate, p50/p90/p99/max in microseconds. */
static void op_row(struct fl_fleet *f, int op, double secs)
{
	struct bl_stats *s = &f->lat[op];
	printf("| %-18s | %9llu | %9.1f | %8u | %8u | %8u | %8u |\n", op_names[op],
	       (unsigned long long)op_count(f, op), (double)op_count(f, op) / secs,
	       bl_stats_pct(s, 50), bl_stats_pct(s, 90), bl_stats_pct(s, 99), bl_stats_pct(s, 100));
}

/* See fl_fleet.h: the human table on stdout. */
void fl_report_print(struct fl_fleet *f, const struct fl_report *r)
{
	const struct fl_counts *c = &f->c;
	const struct fl_errors *e = &c->err;
	printf("lwm2m-load: %u devices (%u started) against %s, %s, CID %s, %.1f s\n", f->o.n,
	       f->launched, f->o.server_text, f->o.auth_name, f->o.cid ? "on" : "off", r->secs);
	printf("| %-18s | %9s | %9s | %8s | %8s | %8s | %8s |\n", "operation", "count", "per s",
	       "p50 us", "p90 us", "p99 us", "max us");
	printf("|--------------------|-----------|-----------|----------|----------|----------|---"
	       "-------|\n");
	for (int op = 0; op < FL_OP_COUNT; op++)
		op_row(f, op, op_secs(f, op, r));
	if (r->ramp_secs >= 0)
		printf("ramp-up (every device registered or failed) %.1f s; turns on for %.1f s\n",
		       r->ramp_secs, r->turn_secs);
	else
		printf("ramp-up not completed in the run; turns on for %.1f s\n", r->turn_secs);
	printf("registered now %u; re-Registers %llu (after an Update's 4.04: %llu), reconnects "
	       "%llu, resumptions refused %llu, CID refused %llu, CoAP retransmissions %llu\n",
	       c->registered, (unsigned long long)c->rereg_ok,
	       (unsigned long long)c->lost_registrations, (unsigned long long)c->reconnects,
	       (unsigned long long)c->resume_refused, (unsigned long long)c->cid_refused,
	       (unsigned long long)c->retransmits);
	printf("server requests answered: reads %llu, observes %llu (declined, one at a time: "
	       "%llu), cancels %llu, refused (4.04/4.06) %llu; notifications sent %llu\n",
	       (unsigned long long)c->reads, (unsigned long long)c->observes,
	       (unsigned long long)c->observes_declined, (unsigned long long)c->cancels,
	       (unsigned long long)c->refused_reads, (unsigned long long)c->notifies);
	printf("errors %llu: handshake timeouts %llu, handshake failures %llu, alerts %llu, "
	       "refused %llu, request timeouts %llu, 4.xx %llu, 5.xx %llu, resets %llu, other "
	       "%llu, unanswered at the end %llu\n",
	       (unsigned long long)fl_errors_total(e), (unsigned long long)e->hs_timeout,
	       (unsigned long long)e->hs_failed, (unsigned long long)e->alerts,
	       (unsigned long long)e->refused, (unsigned long long)e->req_timeout,
	       (unsigned long long)e->coap_4xx, (unsigned long long)e->coap_5xx,
	       (unsigned long long)e->resets, (unsigned long long)e->other,
	       (unsigned long long)r->unfinished);
	printf("hibernated %u (%.0f bytes of context each), restores %llu; client RSS %ld KiB, "
	       "CPU %.1f s (%.0f%% of one core); server RSS %ld KiB (at start %ld)\n",
	       r->hibernated, r->hibernated ? (double)r->blob_bytes / r->hibernated : 0.0,
	       (unsigned long long)c->restores, r->client_rss_kb, r->client_cpu_s,
	       r->secs > 0 ? 100 * r->client_cpu_s / r->secs : 0.0, r->server_rss_kb,
	       r->server_rss0_kb);
}

/* One operation's object in the JSON file. */
static void op_json(FILE *o, struct fl_fleet *f, int op, double secs)
{
	struct bl_stats *s = &f->lat[op];
	fprintf(o,
		"    \"%s\": {\"count\": %llu, \"per_s\": %.1f, \"p50_us\": %u, \"p90_us\": %u, "
		"\"p99_us\": %u, \"max_us\": %u}%s\n",
		op_names[op], (unsigned long long)op_count(f, op), (double)op_count(f, op) / secs,
		bl_stats_pct(s, 50), bl_stats_pct(s, 90), bl_stats_pct(s, 99), bl_stats_pct(s, 100),
		op + 1 < FL_OP_COUNT ? "," : "");
}

/* The counts and errors objects of the JSON file. */
static void counts_json(FILE *o, const struct fl_fleet *f, const struct fl_report *r)
{
	const struct fl_counts *c = &f->c;
	const struct fl_errors *e = &c->err;
	fprintf(o,
		"  \"counts\": {\"started\": %llu, \"registered\": %u, \"reregisters\": %llu, "
		"\"lost_registrations\": %llu, \"reconnects\": %llu, \"resume_refused\": %llu, "
		"\"reads\": %llu, \"observes\": %llu, "
		"\"cancels\": %llu, \"refused_reads\": %llu, \"notifies\": %llu, \"hibernations\": "
		"%llu, \"restores\": %llu, \"unmatched\": %llu, \"unfinished\": %llu, "
		"\"retransmits\": %llu, \"cid_refused\": %llu, \"observes_declined\": %llu},\n",
		(unsigned long long)c->started, c->registered, (unsigned long long)c->rereg_ok,
		(unsigned long long)c->lost_registrations, (unsigned long long)c->reconnects,
		(unsigned long long)c->resume_refused, (unsigned long long)c->reads,
		(unsigned long long)c->observes, (unsigned long long)c->cancels,
		(unsigned long long)c->refused_reads, (unsigned long long)c->notifies,
		(unsigned long long)c->hibernations, (unsigned long long)c->restores,
		(unsigned long long)c->unmatched, (unsigned long long)r->unfinished,
		(unsigned long long)c->retransmits, (unsigned long long)c->cid_refused,
		(unsigned long long)c->observes_declined);
	fprintf(o,
		"  \"errors\": {\"total\": %llu, \"handshake_timeouts\": %llu, "
		"\"handshake_failures\": %llu, \"alerts\": %llu, \"refused\": %llu, "
		"\"request_timeouts\": %llu, \"coap_4xx\": %llu, \"coap_5xx\": %llu, \"resets\": "
		"%llu, \"other\": %llu, \"unfinished\": %llu},\n",
		(unsigned long long)fl_errors_total(e), (unsigned long long)e->hs_timeout,
		(unsigned long long)e->hs_failed, (unsigned long long)e->alerts,
		(unsigned long long)e->refused, (unsigned long long)e->req_timeout,
		(unsigned long long)e->coap_4xx, (unsigned long long)e->coap_5xx,
		(unsigned long long)e->resets, (unsigned long long)e->other,
		(unsigned long long)e->unfinished);
}

/* See fl_fleet.h: written to path.tmp, then renamed, so that a reader never
 * sees half a file. 0, or -1 with a message. */
int fl_report_json(struct fl_fleet *f, const struct fl_report *r, const char *path)
{
	char tmp[4096];
	FILE *o;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	o = fopen(tmp, "w");
	if (!o) {
		perror(tmp);
		return -1;
	}
	fprintf(o,
		"{\n  \"server\": \"%s\", \"devices\": %u, \"auth\": \"%s\", \"cid\": %s, "
		"\"secs\": %.3f, \"rate\": %u, \"update_rate\": %.1f, \"resume_pct\": %u, "
		"\"ramp_secs\": %.3f, \"turn_secs\": %.3f,\n",
		f->o.server_text, f->o.n, f->o.auth_name, f->o.cid ? "true" : "false", r->secs,
		f->o.rate, f->o.update_rate, f->o.resume_pct, r->ramp_secs, r->turn_secs);
	fprintf(o,
		"  \"server_rss_kb\": %ld, \"server_rss_kb_start\": %ld, \"client_rss_kb\": %ld, "
		"\"client_cpu_s\": %.3f, \"hibernated\": %u, \"context_bytes\": %llu,\n"
		"  \"ops\": {\n",
		r->server_rss_kb, r->server_rss0_kb, r->client_rss_kb, r->client_cpu_s,
		r->hibernated, (unsigned long long)r->blob_bytes);
	for (int op = 0; op < FL_OP_COUNT; op++)
		op_json(o, f, op, op_secs(f, op, r));
	fprintf(o, "  },\n");
	counts_json(o, f, r);
	fprintf(o, "  \"status\": \"%s\"\n}\n", fl_errors_total(&f->c.err) ? "errors" : "ok");
	if (fclose(o) != 0 || rename(tmp, path) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

/* See fl_fleet.h: one line on stderr, rewritten in place. */
void fl_progress(const struct fl_fleet *f, double secs, int final)
{
	fprintf(
	    stderr,
	    "\r%6.1fs started %u/%u registered %u handshakes %llu updates %llu errors %llu   %s",
	    secs, f->launched, f->o.n, f->c.registered,
	    (unsigned long long)(f->c.hs_full + f->c.hs_resumed), (unsigned long long)f->c.upd_ok,
	    (unsigned long long)fl_errors_total(&f->c.err), final ? "\n" : "");
	fflush(stderr);
}
