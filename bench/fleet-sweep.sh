#!/usr/bin/env bash
# fleet-sweep: lwm2m-load against a fresh lwm2m-emulator at several fleet
# sizes (idle CID sessions), one JSON result per size, for
# docs/performance.md and docs/fleet.gp (RSS and Update latency against
# sessions). A benchmark, never a test. Each size: the emulator started on
# 127.0.0.1 (pinned to CPU 1 when there are two), the fleet ramped up at
# FLEET_RATE handshakes/s, then Updates at FLEET_UPDATE_RATE per second for
# FLEET_STEADY seconds through the registered, hibernated devices (--steady).
#
# usage: bench/fleet-sweep.sh [SIZES...]      (default: 1000 10000 100000)
# Environment: BUILD=build, EMULATOR=path, FLEET_OUT=$BUILD/bench/fleet,
#   FLEET_RATE=3000, FLEET_UPDATE_RATE=1000, FLEET_STEADY=20,
#   FLEET_HS_PER_S=700 (the server's handshake rate assumed for the run's
#   cap, 3x the ramp-up that rate needs; a run cut short reports unfinished
#   devices), FLEET_SHARED_PSK=0 (1: every device uses the emulator's
#   default PSK identity; by default each device has its own, dev-0..dev-N-1,
#   all in a config file for the emulator, since with one shared identity the
#   emulator may attach a new session to the one device registered at that
#   moment, see bench/README.md), FLEET_EMU_JSON='' (more members of the
#   emulator's config, e.g. '"dtls": {"hibernate_after": 2}'), FLEET_SETTLE=0
#   (lwm2m-load --settle: seconds before RSS is read)
set -euo pipefail

BUILD=${BUILD:-build}
EMULATOR=${EMULATOR:-$BUILD/bin/lwm2m-emulator}
LOAD=$BUILD/bin/lwm2m-load
OUT=${FLEET_OUT:-$BUILD/bench/fleet}
RATE=${FLEET_RATE:-3000}
UPD=${FLEET_UPDATE_RATE:-1000}
STEADY=${FLEET_STEADY:-20}
HS_PER_S=${FLEET_HS_PER_S:-700}
SHARED=${FLEET_SHARED_PSK:-0}
EMU_JSON=${FLEET_EMU_JSON:-}
SETTLE=${FLEET_SETTLE:-0}
KEY=6c776d326d2d7365637265742d6b6579 # the emulator's default key
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 10000 100000)

die() {
	echo "fleet-sweep: $*" >&2
	exit 1
}
for f in "$EMULATOR" "$LOAD"; do
	[ -x "$f" ] || die "$f missing: run 'make bench-build'"
done
[[ $SETTLE =~ ^[0-9]+$ ]] || die "FLEET_SETTLE '$SETTLE': want seconds"
for n in RATE UPD STEADY HS_PER_S "${SIZES[@]}"; do
	v=${!n:-$n}
	[[ $v =~ ^[1-9][0-9]*$ ]] || die "'$v': want a positive integer"
done
mkdir -p "$OUT"
SRV_CPU=() LOAD_CPU=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	SRV_CPU=(taskset -c 1)
	LOAD_CPU=(taskset -c 0)
fi
ulimit -n "$(ulimit -Hn)"
SRV_PID=
stop_server() {
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null || true
	for _ in $(seq 1 200); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=
}
trap stop_server EXIT

# A free UDP port below the ephemeral range.
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 10000))
		[ -n "$(ss -Hlun "sport = :$p" 2>/dev/null)" ] || {
			echo "$p"
			return 0
		}
	done
	die "no free port"
}

for n in "${SIZES[@]}"; do
	port=$(free_port)
	EMU_ARGS=() PSK_ARGS=()
	if [ "$SHARED" = 1 ] && [ -n "$EMU_JSON" ]; then
		echo "{$EMU_JSON}" >"$OUT/emu-$n.json"
		EMU_ARGS=(--config "$OUT/emu-$n.json")
	elif [ "$SHARED" != 1 ]; then
		"$(dirname "$0")/fleet-psk.sh" "$n" "$KEY" "$EMU_JSON" >"$OUT/emu-$n.json"
		EMU_ARGS=(--config "$OUT/emu-$n.json")
		PSK_ARGS=(--psk "dev:$KEY" --psk-identities "$n")
	fi
	"${SRV_CPU[@]}" "$EMULATOR" "${EMU_ARGS[@]}" --bind 127.0.0.1 --dtls-port "$port" \
		--coap-port off --tls-port off --events /dev/null --cid 8 >"$OUT/emu-$n.log" 2>&1 &
	SRV_PID=$!
	for _ in $(seq 1 400); do # up to 20 s: a large PSK table takes a while to load
		[ -z "$(ss -Hlun "sport = :$port" 2>/dev/null)" ] || break
		sleep 0.05
	done
	secs=$((n / HS_PER_S * 3 + STEADY + 30)) # a cap: --steady ends it sooner
	echo "fleet-sweep: $n devices, up to $secs s (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	"${LOAD_CPU[@]}" "$LOAD" --port "$port" --devices "$n" --rate "$RATE" --steady "$STEADY" \
		--update-rate "$UPD" --duration "$secs" --settle "$SETTLE" --server-pid "$SRV_PID" \
		--no-progress \
		"${PSK_ARGS[@]}" \
		--json "$OUT/fleet-$n.json" | tee "$OUT/fleet-$n.txt" || true
	stop_server
done
echo "fleet-sweep: results in $OUT/fleet-*.json" >&2
