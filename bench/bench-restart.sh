#!/usr/bin/env bash
# Graceful restart at scale: N registered CID sessions (bench_load --mode
# idle --park) in a running lwm2m-emulator with --state, then SIGTERM (save),
# a start from the file (restore), and a second SIGTERM (save of sessions
# that are all hibernated). Prints one line:
#   result mode=restart sessions=N format=F save_ms=.. restore_ms=..
#          restored=.. resave_ms=.. file_bytes=.. rss_kb_idle=.. rss_kb_restored=..
# save_ms: SIGTERM to exit (hibernating every live session, writing, fsync,
# freeing); restore_ms: exec to the DTLS port listening, minus the same for a
# start without state (certificate generation and the rest of the start).
# A benchmark, never a test (bench/README.md); run-bench.sh runs it as the
# "restart" metric. Usage: bench-restart.sh N [binary|json]
set -euo pipefail

N=${1:?usage: bench-restart.sh SESSIONS [binary|json]}
FORMAT=${2:-binary}
BUILD=${BUILD:-build}
EMULATOR=${EMULATOR:-$BUILD/bin/lwm2m-emulator}
LOAD=$BUILD/bin/bench_load
HIB_AFTER=${BENCH_HIBERNATE_AFTER:-2}
# Seconds between the last Register and SIGTERM (by default: until every
# session is hibernated; BENCH_HIBERNATE_AFTER=600 BENCH_SETTLE=1 saves
# sessions that are all still live).
SETTLE=${BENCH_SETTLE:-$((HIB_AFTER + 2))}
[[ $N =~ ^[1-9][0-9]*$ ]] || {
	echo "bench-restart: SESSIONS '$N': want a positive integer" >&2
	exit 2
}
[[ $FORMAT == binary || $FORMAT == json ]] || {
	echo "bench-restart: format '$FORMAT': want binary or json" >&2
	exit 2
}
DIR=$(mktemp -d /tmp/bench-restart.XXXXXX)
chmod 700 "$DIR"
PID=
cleanup() {
	[ -z "$PID" ] || kill -KILL "$PID" 2>/dev/null || true
	# BENCH_KEEP=1 keeps the state file, config and events for a post-mortem.
	[ "${BENCH_KEEP:-0}" = 1 ] && echo "bench-restart: kept $DIR" >&2 || rm -rf "$DIR"
}
trap cleanup EXIT
echo "{\"dtls\":{\"hibernate_after\":$HIB_AFTER}}" >"$DIR/conf.json"
PORT=$((20000 + RANDOM % 10000))

now_ms() { date +%s%3N; }

# start [STATE-ARGS...]: starts the emulator (PID), waits until it listens;
# ELAPSED gets the milliseconds that took.
start() {
	local t0 t1
	t0=$(now_ms)
	START_T0=$t0
	"$EMULATOR" --bind 127.0.0.1 --dtls-port "$PORT" --coap-port off --tls-port off \
		--events "$DIR/events.jsonl" --cid 8 --config "$DIR/conf.json" --control "$DIR/ctl.sock" \
		"$@" >/dev/null 2>>"$DIR/emu.log" &
	PID=$!
	until [ -n "$(ss -Hlun "sport = :$PORT" 2>/dev/null)" ]; do
		kill -0 "$PID" 2>/dev/null || {
			tail -3 "$DIR/emu.log" >&2
			exit 1
		}
	done
	t1=$(now_ms)
	ELAPSED=$((t1 - t0))
}

# stop: SIGTERM, wait for the exit; ELAPSED gets the milliseconds that took.
stop() {
	local t0 t1
	t0=$(now_ms)
	kill -TERM "$PID"
	wait "$PID" || true
	t1=$(now_ms)
	PID=
	ELAPSED=$((t1 - t0))
}

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }

# ev_ms EVENT TRIGGER [KEY]: KEY (default "ms") of the last such event
# (TRIGGER "" = any).
ev_ms() {
	grep -a "\"event\":\"$1\"" "$DIR/events.jsonl" | grep -a "$2" | tail -1 |
		sed -n "s/.*\"${3:-ms}\":\\([0-9]*\\).*/\\1/p"
}

STATE=(--state "$DIR/state" --state-format "$FORMAT" --state-interval 0)
start # no state file yet: the plain start time
base_ms=$ELAPSED
stop
# The measured cycle: sessions established and hibernated, saved, restored.
start "${STATE[@]}"
"$LOAD" --mode idle --port "$PORT" --server-pid "$PID" --cid --clients "$N" --park \
	--settle "$SETTLE" --setup-timeout $((60 + N / 100)) >"$DIR/load.out" \
	2>>"$DIR/emu.log" || true
rss_idle=$(rss_kb)
stop
save_ms=$ELAPSED
save_only_ms=$(ev_ms state_saved '"trigger":"shutdown"')
save_cpu_ms=$(ev_ms state_saved '"trigger":"shutdown"' cpu_ms)
bytes=$(stat -c %s "$DIR/state")
start "${STATE[@]}"
start_ms=$ELAPSED
# The port is bound before the state is read: wait for the rewrite after it.
for _ in $(seq 1 12000); do
	grep -aq '"trigger":"restore"' "$DIR/events.jsonl" && break
	sleep 0.01
done
restore_wall_ms=$(($(now_ms) - START_T0 - base_ms))
restored=$("$EMULATOR" ctl --control "$DIR/ctl.sock" status | sed -n 's/.*"hibernated":\([0-9]*\).*/\1/p')
[ -n "$restored" ] || restored=$("$EMULATOR" ctl --control "$DIR/ctl.sock" status |
	sed -n 's/.*"sessions":\([0-9]*\),.*/\1/p')
rss_restored=$(rss_kb)
load_ms=$(ev_ms state_restored '')
# The validation before start, when the load took its document (-1 or
# absent: the load validated the file itself, within load_ms).
check_ms=$(ev_ms state_restored '' check_ms)
check_cpu_ms=$(ev_ms state_restored '' check_cpu_ms)
[ -n "$check_ms" ] && [ "$check_ms" -ge 0 ] || check_ms=0 check_cpu_ms=0
rewrite_ms=$(ev_ms state_saved '"trigger":"restore"')
c1=$(ev_ms state_restored '' cpu_ms)
c2=$(ev_ms state_saved '"trigger":"restore"' cpu_ms)
restore_cpu_ms=-1 # the JSON format's events carry no times
[ -z "$c1" ] || restore_cpu_ms=$((check_cpu_ms + c1 + ${c2:-0}))
stop
resave_ms=$ELAPSED
established=$(sed -n 's/^result .* sessions=\([0-9]*\) .*/\1/p' "$DIR/load.out")
echo "result mode=restart sessions=${established:-0} format=$FORMAT save_ms=${save_only_ms:--1}" \
	"restore_ms=$([ -n "$load_ms" ] && echo $((check_ms + load_ms + ${rewrite_ms:-0})) || echo -1)" \
	"check_ms=$check_ms load_ms=${load_ms:--1} rewrite_ms=${rewrite_ms:--1} restore_wall_ms=$restore_wall_ms" \
	"save_cpu_ms=${save_cpu_ms:--1} restore_cpu_ms=$restore_cpu_ms load=$(cut -d' ' -f1 /proc/loadavg)" \
	"sigterm_to_exit_ms=$save_ms start_ms=$start_ms base_start_ms=$base_ms" \
	"restored=$restored resave_ms=$resave_ms file_bytes=$bytes rss_kb_idle=$rss_idle" \
	"rss_kb_restored=$rss_restored"
