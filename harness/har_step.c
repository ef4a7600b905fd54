#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "har_ctx.h"
#include "har_emulator.h"
#include "har_expect.h"
#include "har_match.h"
#include "lh_time.h"

#define DEFAULT_CLIENT_TIMEOUT_MS 15000

/* The kind of a step or expectation, for messages: "client connect". */
static void item_kind(const json_t *item, char *out, size_t size)
{
	const json_t *v;
	if ((v = json_object_get(item, "client")))
		snprintf(out, size, "client %s", json_string_value(v));
	else if (json_object_get(item, "wait_ms"))
		snprintf(out, size, "wait");
	else if (json_object_get(item, "network"))
		snprintf(out, size, "network");
	else if (json_is_string(v = json_object_get(item, "emulator")))
		snprintf(out, size, "emulator %s", json_string_value(v));
	else if (v)
		snprintf(out, size, "emulator ctl %s",
			 json_string_value(json_object_get(json_object_get(v, "ctl"), "cmd")));
	else if (har_expect_is(item))
		snprintf(out, size, "%s", har_expect_kind(item));
	else
		snprintf(out, size, "?");
}

/* A reply without its bookkeeping fields, as compact JSON. */
static char *reply_text(const json_t *reply)
{
	json_t *copy = json_deep_copy(reply);
	json_object_del(copy, "ts");
	json_object_del(copy, "src");
	json_object_del(copy, "event");
	char *s = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(copy);
	return s;
}

/* " (EPROTO, alert bad_record_mac: handshake failed ...)" for an error
 * reply, so the cause reads first; "" for a success. */
static const char *error_summary(const json_t *reply, char *out, size_t size)
{
	const char *err = json_string_value(json_object_get(reply, "error"));
	const char *msg = json_string_value(json_object_get(reply, "message"));
	const char *alert =
	    json_string_value(json_object_get(json_object_get(reply, "alert"), "name"));
	const char *code = json_string_value(json_object_get(reply, "code"));
	out[0] = '\0';
	if (!err)
		return out;
	snprintf(out, size, " (the command failed: %s%s%s%s%s%s%s)", err, alert ? ", alert " : "",
		 alert ? alert : "", code ? ", code " : "", code ? code : "", msg ? ": " : "",
		 msg ? msg : "");
	return out;
}

/* A layer that cannot do something is a skip, unless the scenario asked
 * for exactly that error. */
static int is_unsupported(const json_t *want, const json_t *reply)
{
	const char *err = json_string_value(json_object_get(reply, "error"));
	return err && strcmp(err, "UNSUPPORTED") == 0 && !json_object_get(want, "error");
}

/* A reply that misses only fields the layer declared it cannot report
 * ("unreported": the shim's get_option got ENOTSUP, e.g. avs_net has no
 * ciphersuite getter) and matches in everything else. The scenario goes on;
 * it ends as a skip naming those fields unless something else fails. */
static int only_unreported(struct har_ctx *c, const json_t *want, const json_t *reply)
{
	const json_t *list = json_object_get(reply, "unreported"), *name;
	json_t *rest;
	size_t i;
	int dropped = 0, ok;

	if (!json_is_object(want) || !json_is_array(list))
		return 0;
	rest = json_deep_copy(want);
	json_array_foreach(list, i, name)
	{
		const char *key = json_string_value(name);
		if (key && json_object_get(rest, key) && !json_object_get(reply, key))
			dropped += json_object_del(rest, key) == 0;
	}
	ok = dropped && har_match_value(rest, reply);
	json_decref(rest);
	if (ok && !c->unreported) {
		char *names = json_dumps(list, JSON_COMPACT);
		if (asprintf(&c->unreported,
			     "the client layer cannot report %s (%s); "
			     "every other check held",
			     names ? names : "?", c->where) < 0)
			c->unreported = NULL;
		free(names);
	}
	return ok;
}

/* {"client": "connect", "expect": {...}, "timeout_ms": N}: one command and
 * a check of its reply (default: ok is true). */
static int step_client(struct har_ctx *c, const json_t *item)
{
	int ret = -1;
	const char *name = json_string_value(json_object_get(item, "client"));
	json_t *tmo = json_object_get(item, "timeout_ms");
	int timeout = tmo ? (int)json_integer_value(tmo) : DEFAULT_CLIENT_TIMEOUT_MS;
	json_t *want = json_object_get(item, "expect");
	json_t *dflt = json_pack("{s:b}", "ok", 1);
	char *got = NULL, *wanted = NULL, why[512], summary[512];
	if (!want)
		want = dflt;
	c->action_mark = c->tl.n;
	if (strcmp(name, "reboot") == 0) {
		ret = har_ctx_client_reboot(c);
		goto exit;
	}
	json_t *cmd = json_pack("{s:s}", "cmd", name);
	/* A configure step re-sends the scenario's client config with the
	 * step's changes: a scenario can assert a refused configuration. */
	if (strcmp(name, "configure") == 0)
		json_object_set_new(cmd, "config",
				    har_ctx_client_config(c, json_object_get(item, "config")));
	json_object_update_missing(cmd, json_object_get(item, "args"));
	int r = har_ctx_command(c, cmd, timeout);
	if (r == 0)
		har_ctx_failf(c, "the shim sent no reply to \"%s\" within %d ms", name, timeout);
	if (r != 1)
		goto exit;
	if (har_match_value(want, c->reply)) {
		ret = 0;
		goto exit;
	}
	if (only_unreported(c, want, c->reply)) {
		ret = 0;
		goto exit;
	}
	got = reply_text(c->reply);
	if (is_unsupported(want, c->reply)) {
		if (asprintf(&c->skip, "the client layer cannot \"%s\": %s", name, got) < 0)
			c->skip = NULL;
		goto exit;
	}
	wanted = har_match_text(want);
	har_match_explain(want, c->reply, why, sizeof(why));
	har_ctx_failf(c, "expected the reply to match %s, but %s%s; the reply was %s", wanted, why,
		      error_summary(c->reply, summary, sizeof(summary)), got);
exit:
	free(got);
	free(wanted);
	json_decref(dflt);
	return ret;
}

/* {"wait_ms": N}: lets time pass while events keep being collected. */
static int step_wait(struct har_ctx *c, const json_t *item)
{
	int64_t ms = json_integer_value(json_object_get(item, "wait_ms"));
	return har_ctx_wait(c, lh_time_mono_ms() + ms, NULL, NULL) < 0 || c->fail ? -1 : 0;
}

/* {"network": {...}}: rebind, impair, blackhole or close the path. */
static int step_network(struct har_ctx *c, const json_t *item)
{
	char err[512];
	c->action_mark = c->tl.n;
	if (har_netsim_apply(&c->ns, json_object_get(item, "network"), err, sizeof(err)) != 0) {
		har_ctx_failf(c, "%s", err);
		return -1;
	}
	return 0;
}

/* Runs one step or expectation according to its kind. */
static int run_item(struct har_ctx *c, const json_t *item, int final)
{
	if (json_object_get(item, "client"))
		return step_client(c, item);
	if (json_object_get(item, "wait_ms"))
		return step_wait(c, item);
	if (json_object_get(item, "network"))
		return step_network(c, item);
	if (json_object_get(item, "emulator"))
		return har_emulator_step(c, item);
	if (har_expect_is(item))
		return har_expect_run(c, item, final);
	har_ctx_failf(c, "unknown step kind (the schema should have refused it)");
	return -1;
}

/* Runs a list ("steps" or "expect"), naming each item in c->where. */
static int run_list(struct har_ctx *c, const char *key, int final)
{
	const json_t *list = json_object_get(c->sc->root, key);
	size_t i, n = json_array_size(list);
	json_t *item;
	char kind[64];
	json_array_foreach(list, i, item)
	{
		item_kind(item, kind, sizeof(kind));
		snprintf(c->where, sizeof(c->where), "%s %zu of %zu ($.%s[%zu], %s)",
			 final ? "final expectation" : "step", i + 1, n, key, i, kind);
		har_timeline_note(&c->tl, final ? "expectation" : "step",
				  json_pack("{s:I, s:s, s:O}", "index", (json_int_t)i, "kind", kind,
					    "spec", item));
		if (run_item(c, item, final) != 0 || c->fail || c->skip)
			return -1;
	}
	return 0;
}

/* Steps first; final expectations only if every step held. A check the
 * layer could not answer turns a scenario that otherwise held into a skip. */
int har_steps_run(struct har_ctx *c)
{
	int ret = run_list(c, "steps", 0);

	if (ret == 0)
		ret = run_list(c, "expect", 1);
	if (ret == 0 && c->unreported && !c->fail && !c->skip) {
		c->skip = c->unreported;
		c->unreported = NULL;
		ret = -1;
	}
	free(c->unreported);
	c->unreported = NULL;
	return ret;
}
