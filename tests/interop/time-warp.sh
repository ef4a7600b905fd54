#!/usr/bin/env bash
# The time warp really scales each program's timers (docs/time-warp.md).
# Two small scenarios (tests/interop/warp/, time_warp 50) run under the
# harness, and each program's timers are judged by the program's own events
# on the shared warped clock, never by the wall clock (beyond a generous
# bound that the warp was applied at all):
#   - the shim's Mbed TLS handshake timers: ClientHellos 1, 2, 4 s apart and
#     ETIMEDOUT at 15 s, as the shim itself measured;
#   - libcoap's CON retransmissions in the shim: each gap twice the last;
#   - the emulator's registration expiry (epoll loop and timer heap): 30 s
#     after the Register, on the emulator's own clock;
#   - the harness worker (waits, network simulator): its scenario time is
#     many times its wall time.
# Also: --time-warp overrides a scenario's warp, a missing faketime makes
# the scenario a skip that says what to install, and lint refuses a
# timeout_ms whose wall time would exceed the bound. Loopback only, every
# run bounded. TAP output.
# usage: tests/interop/time-warp.sh   (BUILD=build)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
BUILD=${BUILD:-build}
HAR=$BUILD/bin/lwm2m-harness
DIR=tests/interop/warp
TMP=$(mktemp -d "${TMPDIR:-/tmp}/time-warp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# shellcheck source=tests/tap.bash
source "$top/tests/tap.bash"
if ! command -v faketime >/dev/null; then
	echo "ok 1 - # SKIP faketime is not installed (make deps installs Debian's faketime)"
	exit 0
fi
[ -x "$HAR" ] || {
	notok "$HAR is built (make all)"
	exit 1
}

# run RESULTS ARGS...: the two check scenarios, bounded (PATH_FOR_HAR: the
# PATH the harness gets).
run() {
	local res=$1
	shift
	timeout -k 5 120 env PATH="${PATH_FOR_HAR:-$PATH}" "$HAR" run --schema scenarios/schema.json \
		--results "$res" "$@" "$DIR" >"$res.out" 2>&1
}
tl() { echo "$TMP/$1/latest/$2/timeline.jsonl"; }

# gaps FILE JQ_FILTER: seconds between consecutive matching events' ts.
gaps() {
	jq -r "$2 | .ts" "$1" | awk 'NR > 1 { printf "%.3f\n", $1 - p } { p = $1 }'
}

# Mbed TLS handshake timer of the shim: ClientHellos at 0, 1, 3, 7 s.
check_mbedtls() {
	local f g
	f=$(tl w50 warp-check-backoff)
	g=$(gaps "$f" 'select(.src == "netsim" and .event == "datagram" and .dir == "c2s")')
	echo "gaps: $(echo $g)"
	echo "$g" | awk 'BEGIN { want = 1; n = 0 }
		{ if ($1 < want * 0.75 || $1 > want * 1.25 + 0.3) bad = 1; want *= 2; n++ }
		END { exit !(n == 3 && !bad) }' || return 1
	# ETIMEDOUT once the 8 s maximum passed: 15 s in the shim's own time.
	# (jq 1.6: -e on a select() stream exits 4; one slurped value instead)
	jq -es 'map(select(.src == "shim" and .cmd == "connect"))[0].ms |
		. >= 14000 and . <= 18000' "$f"
}

# libcoap in the shim: Update retransmissions, each gap twice the last.
check_libcoap() {
	local f g
	f=$(tl w50 warp-check-coap-expiry)
	# The Update and its retransmissions: c2s after the register reply, until
	# the update reply.
	g=$(jq -r 'select(.src == "netsim" and .event == "datagram" and .dir == "c2s" or
		(.src == "shim" and .event == "reply")) | "\(.event) \(.cmd // "-") \(.ts)"' "$f" |
		awk '$1 == "reply" && $2 == "register" { on = 1; next }
		     $1 == "reply" && $2 == "update" { on = 0 }
		     on && $1 == "datagram" { if (n++) printf "%.3f\n", $3 - p; p = $3 }')
	echo "gaps after the Update: $(echo $g)"
	# ACK_TIMEOUT 2-3 s: retransmissions at b, 3b, 7b (b in 2..3) within the
	# 20 s request timeout; the gaps from the first on: b, 2b, 4b.
	echo "$g" | awk 'NR == 1 { b = $1 } NR > 1 { r = $1 / p; if (r < 1.6 || r > 2.5) bad = 1 }
		{ p = $1; n++ } END { exit !(n >= 2 && b >= 1.6 && b <= 4.0 && !bad) }'
}

# The emulator's registration expiry: 30 s after the Register on its clock.
check_emulator() {
	local f d
	f=$(tl w50 warp-check-coap-expiry)
	d=$(jq -rs '(map(select(.src == "emulator" and .event == "registration_expired"))[0].ts) -
		(map(select(.src == "emulator" and .event == "register"))[0].ts)' "$f")
	echo "register to registration_expired: $d s"
	awk -v d="$d" 'BEGIN { exit !(d >= 29.5 && d <= 33) }'
}

# The worker's own clock ran warped: scenario time far beyond wall time.
check_worker() {
	local r=$TMP/w50/latest/warp-check-backoff/result.json
	cat "$r"
	jq -e '.time_warp == 50 and .scenario_time_s > 10 * .duration_s' "$r"
}

run "$TMP/w50"
[ -z "${WARP_DEBUG:-}" ] || set -x
check "both check scenarios pass at time_warp 50" grep -q '^2 passed, 0 failed' "$TMP/w50.out"
check "shim, Mbed TLS timers: ClientHellos 1, 2, 4 s apart, ETIMEDOUT at 15 s" check_mbedtls
check "shim, libcoap: each CON retransmission gap twice the last" check_libcoap
check "emulator: the registration expires 30 s after the Register" check_emulator
check "harness worker: scenario time many times the wall time" check_worker

run "$TMP/w20" --time-warp 20 --name warp-check-backoff
check "--time-warp 20 overrides the scenario's 50" \
	jq -e '.verdict == "pass" and .time_warp == 20' "$TMP/w20/latest/warp-check-backoff/result.json"

mkdir -p "$TMP/nopath"
PATH_FOR_HAR=$TMP/nopath run "$TMP/nofake" --name warp-check-backoff
check "without faketime the scenario is skipped, saying what to install" \
	jq -e '.verdict == "skip" and (.message | test("faketime"))' \
	"$TMP/nofake/latest/warp-check-backoff/result.json"

jq '.time_warp = 1 | .timeout_ms = 700000' "$DIR/backoff.json" >"$TMP/too-long.json"
out=$("$HAR" lint --schema scenarios/schema.json "$TMP/too-long.json" 2>&1)
check "lint refuses 700 s of scenario time at time_warp 1" \
	grep -q 'timeout_ms.*raise time_warp' <<<"$out"
echo "# $((N - FAILED)) passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
