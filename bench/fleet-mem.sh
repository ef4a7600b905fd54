#!/usr/bin/env bash
# fleet-mem: one idle-fleet memory run (docs/perf-memory.md). It starts a
# lwm2m-emulator with one PSK identity per device and
# $.dtls.hibernate_after 2 s, pinned to CPU 1, and runs lwm2m-load on CPU 0
# (ramp-up up to 3,000/s, then 20 s of Updates at 1,000/s, then 5 s of
# settle). It records the server's RSS at start and every 5 s with its CPU
# ticks, `ctl status` at the end, and the time from SIGTERM to exit. A
# benchmark, never a test.
#
# usage: bench/fleet-mem.sh N OUTDIR [EMULATOR]
#   writes OUTDIR/{meta.txt,rss.log,fleet.json,fleet.txt,status.json}
#   Environment: BUILD=build, FLEET_DURATION=3000 (the run's cap, seconds)
set -euo pipefail
N=${1:?usage: fleet-mem.sh N OUTDIR [EMULATOR]}
OUT=${2:?usage: fleet-mem.sh N OUTDIR [EMULATOR]}
BUILD=${BUILD:-build}
EMU=${3:-$BUILD/bin/lwm2m-emulator}
LOAD=$BUILD/bin/lwm2m-load
DUR=${FLEET_DURATION:-3000}
KEY=6c776d326d2d7365637265742d6b6579
[[ $N =~ ^[1-9][0-9]*$ ]] || {
	echo "fleet-mem: N '$N': want a positive integer" >&2
	exit 2
}
for f in "$EMU" "$LOAD"; do
	[ -x "$f" ] || {
		echo "fleet-mem: $f missing: run 'make bench-build'" >&2
		exit 2
	}
done
CPU_SRV=() CPU_GEN=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	CPU_SRV=(taskset -c 1)
	CPU_GEN=(taskset -c 0)
fi
mkdir -p "$OUT"
"$(dirname "$0")/fleet-psk.sh" "$N" "$KEY" '"dtls": {"hibernate_after": 2}' >"$OUT/psk.json"
ulimit -n "$(ulimit -Hn)"
PORT=$((20000 + RANDOM % 10000))
CTL=$OUT/ctl.sock
rss() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
echo "start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT/meta.txt"
"${CPU_SRV[@]}" "$EMU" --config "$OUT/psk.json" --bind 127.0.0.1 --dtls-port "$PORT" \
	--coap-port off --tls-port off --events /dev/null --cid 8 --control "$CTL" \
	>/dev/null 2>"$OUT/emu.err" &
SP=$!
trap 'kill -TERM $SP 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do # a 1M-identity table takes a few seconds to load
	[ -S "$CTL" ] && [ -n "$(ss -Hlun "sport = :$PORT")" ] && break
	sleep 0.1
done
sleep 1
echo "start_rss_kb $(rss $SP VmRSS) hwm_kb $(rss $SP VmHWM)" >>"$OUT/meta.txt"
(while kill -0 "$SP" 2>/dev/null; do
	echo "$(date -u +%T) $(rss $SP VmRSS) $(awk '{print $14 + $15}' /proc/$SP/stat)" \
		"$(cut -d' ' -f1 /proc/loadavg)"
	sleep 5
done) >"$OUT/rss.log" 2>/dev/null &
RL=$!
rc=0
"${CPU_GEN[@]}" "$LOAD" --port "$PORT" --devices "$N" --rate 3000 --steady 20 \
	--update-rate 1000 --duration "$DUR" --settle 5 --server-pid "$SP" --no-progress \
	--psk "dev:$KEY" --psk-identities "$N" --json "$OUT/fleet.json" >"$OUT/fleet.txt" 2>&1 ||
	rc=$?
echo "load_rc $rc" >>"$OUT/meta.txt"
echo "end_rss_kb $(rss $SP VmRSS) hwm_kb $(rss $SP VmHWM)" >>"$OUT/meta.txt"
"$EMU" ctl --control "$CTL" status >"$OUT/status.json" 2>&1 || true
echo "end $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
T0=$(date +%s%N)
kill -TERM "$SP"
wait "$SP" || true
echo "shutdown_ms $((($(date +%s%N) - T0) / 1000000))" >>"$OUT/meta.txt"
kill "$RL" 2>/dev/null || true
rm -f "$OUT/psk.json"
tail -1 "$OUT/fleet.txt"
