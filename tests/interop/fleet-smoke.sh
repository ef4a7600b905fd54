#!/usr/bin/env bash
# Bounded smoke test of lwm2m-load, the fleet mode (not a benchmark: nothing
# here is timed). 200 virtual devices, each with its own PSK identity, drive
# lwm2m-emulator on 127.0.0.1 through hibernated CID sessions; the counts
# the fleet reports must be the emulator's own: registrations (ctl status and
# register events), Updates (update events), resumed handshakes
# (handshake_done resumed), a Read and an Observe sent with `ctl request`
# answered (response_received, notify). Bad input must exit 2 with a message
# naming the option; a closed port and a server that never answers must end
# the run on time with the errors counted (exit 1), never hang.
# It fails when the fleet's counts are not the server's: e.g. with Updates
# counted twice in bench/fl_dev.c (`f->c.upd_ok += 2`), "Updates: fleet 1598
# = emulator update events" is `not ok` (tried).
#
# usage: tests/interop/fleet-smoke.sh   (BUILD=build, EMULATOR=path)
set -euo pipefail

# shellcheck source=tests/interop/lib.bash
source "$(dirname "$0")/lib.bash"

LOAD=$BUILD/bin/lwm2m-load
N=${FLEET_SMOKE_DEVICES:-200}
KEY=6c776d326d2d7365637265742d6b6579
CTL=$TMP/ctl.sock
JSON=$TMP/fleet.json

if [ ! -x "$LOAD" ]; then
	fail "lwm2m-load built" "$LOAD missing: run 'make unit-tests-bin' or 'make bench-build'"
	finish
	exit 1
fi
PSKS=()
for i in $(seq 0 $((N - 1))); do PSKS+=(--psk "dev-$i:$KEY"); done
PSKS+=(--psk "shared:$KEY")
if ! start_emulator --cid 8 --tls-port off --control "$CTL" "${PSKS[@]}" >"$TMP/start.out"; then
	fail "start lwm2m-emulator" "$(cat "$TMP/start.out")"
	finish
	exit 1
fi
if ! REAL_PID=$(emulator_pid); then
	fail "find the emulator's pid" "$REAL_PID"
	finish
	exit 1
fi
pass "lwm2m-emulator on 127.0.0.1:$EMU_PORT with $N PSK identities (pid $REAL_PID)"

ctl() { timeout 10 "$EMULATOR" ctl --control "$CTL" "$@"; }
# jf PATH: a value from the fleet's JSON results.
jf() { jq -r "$1" "$JSON" 2>/dev/null; }
# events FILTER: how many emulator events match.
events() { jq -c "select($1)" "$EVENTS" 2>/dev/null | wc -l; }

# Once the whole fleet is registered, the server reads one device and
# observes another (bounded: gives up after 30 s).
server_requests() {
	for _ in $(seq 1 300); do
		[ "$(ctl status | jq -r .registrations)" = "$N" ] && break
		sleep 0.1
	done
	ctl request endpoint=fl-3 method=read path=/3/0/1 >"$TMP/read.out"
	ctl request endpoint=fl-13 method=observe path=/3/0/13 >"$TMP/observe.out"
}
server_requests &
REQ_PID=$!
FLEET_STATUS=0
timeout 120 "$LOAD" --port "$EMU_PORT" --devices "$N" --rate 400 --duration 60 --steady 4 \
	--update-rate 200 --resume 20 --psk "dev:$KEY" --psk-identities "$N" --ep-prefix fl- \
	--server-pid "$REAL_PID" --json "$JSON" >"$TMP/fleet.out" 2>"$TMP/fleet.err" ||
	FLEET_STATUS=$?
wait "$REQ_PID" || true
ran_clean() {
	[ "$FLEET_STATUS" = 0 ] && [ "$(jf .status)" = ok ] && [ "$(jf .errors.total)" = 0 ] &&
		return 0
	echo "exit $FLEET_STATUS; $(cat "$TMP/fleet.out" "$TMP/fleet.err")"
	return 1
}
check "$N devices: exit 0, no error, JSON written" ran_clean

# same WHAT A B: A and B are the same non-empty count.
same() {
	[ -n "$2" ] && [ "$2" = "$3" ] && return 0
	echo "$1: the fleet says '$2', the emulator '$3'"
	return 1
}
REGS=$(ctl status | jq -r .registrations)
check "registrations: fleet $(jf .counts.registered) = emulator status $REGS = $N" \
	same registrations "$(jf .counts.registered)" "$REGS"
check "registrations: one register event per device (fl-0..fl-$((N - 1)))" \
	same "distinct endpoints" "$N" \
	"$(jq -r 'select(.event == "register") | .endpoint' "$EVENTS" | grep -c '^fl-[0-9]*$')"
check "each device handshook with its own PSK identity (dev-0..dev-$((N - 1)))" \
	same "distinct identities" "$N" \
	"$(jq -r 'select(.event == "handshake_done" and .resumed == false) | .identity' "$EVENTS" |
		sort -u | grep -c '^dev-[0-9]*$')"
check "Updates: fleet $(jf .ops.update.count) = emulator update events" \
	same updates "$(jf .ops.update.count)" "$(events '.event == "update"')"
check "resumed handshakes: fleet $(jf .ops.resumed_handshake.count) = emulator resumed ones" \
	same resumptions "$(jf .ops.resumed_handshake.count)" \
	"$(events '.event == "handshake_done" and .resumed == true')"
check "the Read was answered 2.05 by fl-3, counted once by the fleet" \
	same reads "$(jf .counts.reads)" \
	"$(events '.event == "response_received" and .endpoint == "fl-3" and .code == "2.05"')"
check "the Observe was accepted by fl-13 and its notifications arrived" \
	same notifications "$(($(jf .counts.notifies) + 1))" \
	"$(events '(.event == "response_received" or .event == "notify") and .endpoint == "fl-13"')"
hibernated() {
	[ "$(jf .hibernated)" = "$N" ] && [ "$(jf .counts.restores)" -gt 0 ] && return 0
	echo "hibernated $(jf .hibernated) of $N, restores $(jf .counts.restores)"
	return 1
}
check "every idle device hibernated ($(jf .context_bytes) bytes of context in all)" hibernated

check "--devices 0: exit 2, says so" load_refuses --port "$EMU_PORT" --devices 0 "--devices 0: want 1"
check "no --port: exit 2, says it is required" load_refuses --devices 5 "--port is required"
check "--rate beyond the generator: exit 2, says the bound" \
	load_refuses --port "$EMU_PORT" --devices 5 --rate 1000000 "--rate 1000000: want 1..20000"
check "--update-rate beyond the generator: exit 2" \
	load_refuses --port "$EMU_PORT" --devices 5 --update-rate 1e9 "--update-rate"
HARD=$(ulimit -Hn)
if [ "$HARD" != unlimited ] && [ "$HARD" -lt 1000000 ]; then
	check "--no-cid with more devices ($((HARD + 1))) than descriptors: exit 2, says what to do" \
		load_refuses --port "$EMU_PORT" --devices $((HARD + 1)) --no-cid "drop --no-cid"
else
	pass "# SKIP --no-cid beyond the fd limit: the hard limit ($HARD) is too high to exceed"
fi
check "a loopback --src with a server elsewhere: exit 2, says why (nothing is sent)" \
	load_refuses --port "$EMU_PORT" --devices 5 --server 198.18.0.2 --src 127.1.0.1 "is a loopback address"

# run_failing NAME ARGS...: a bounded run that must end with exit 1 (not a
# timeout's 124) and the errors in its JSON.
run_failing() {
	local status=0
	timeout 30 "$LOAD" --devices 20 --duration 2 --no-progress --json "$JSON" "$@" \
		>"$TMP/fail.out" 2>"$TMP/fail.err" || status=$?
	[ "$status" = 1 ] && [ "$(jf .errors.total)" -gt 0 ] && [ "$(jf .counts.registered)" = 0 ] &&
		grep -q 'no device registered' "$TMP/fail.err" && return 0
	echo "exit $status; $(cat "$TMP/fail.out" "$TMP/fail.err")"
	return 1
}
# Devices sharing one PSK identity, registering one after another: the
# emulator's identity move (a new full handshake with the identity of the
# only registered device) is a guess; when that device's next Update moves
# it back, the session it leaves is another device's by then and must not
# be closed as superseded (it was: one device lost per run, its Updates
# unanswered).
shared() {
	local status=0
	timeout 60 "$LOAD" --port "$EMU_PORT" --devices 30 --rate 20 --duration 30 --steady 3 \
		--update-rate 100 --psk "shared:$KEY" --ep-prefix sh- --no-progress --json "$JSON" \
		>"$TMP/shared.out" 2>&1 || status=$?
	[ "$status" = 0 ] && [ "$(jf .errors.total)" = 0 ] &&
		[ "$(events '.event == "session_closed" and .reason == "superseded"')" = 0 ] && return 0
	echo "exit $status; superseded: $(events '.event == "session_closed" and .reason == "superseded"')"
	cat "$TMP/shared.out"
	return 1
}
check "30 devices sharing one PSK identity: no error, no session closed as superseded" shared
ctl stop_answering >/dev/null
silent() { run_failing --port "$EMU_PORT" && [ "$(jf .errors.unfinished)" = 20 ]; }
check "a server that never answers: the run ends, 20 handshakes unanswered, exit 1" silent
ctl resume >/dev/null
stop_emulator
refused() { run_failing --port "$EMU_PORT" && [ "$(jf .errors.refused)" = 20 ]; }
check "a closed port: 20 handshakes refused, counted, exit 1" refused

# A DTLS server that does not agree to a Connection ID (Debian's
# coap-server-openssl: OpenSSL has no RFC 9146): the devices must keep their
# own sockets, or the server never sees their Registers (it knows a session
# by its address only). It has no /rd, so every Register is answered 4.04:
# an answer on the DTLS session is what is checked. It fails (tried) when
# a device moves to the pool socket without a CID agreed: no answer, every
# Register unanswered.
# shellcheck source=tests/ports.bash
source "$(dirname "$0")/../ports.bash"
no_cid_server() {
	local base status=0 pid
	if ! command -v coap-server-openssl >/dev/null; then
		echo "coap-server-openssl missing (libcoap3-bin: make deps)"
		return 1
	fi
	base=$(free_ports 2)
	timeout 60 coap-server-openssl -A 127.0.0.1 -p "$base" -k lwm2m-secret-key -v 0 \
		>"$TMP/coap-server.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		ss -lun 2>/dev/null | grep -q "127.0.0.1:$((base + 1)) " && break
		sleep 0.05
	done
	timeout 30 "$LOAD" --port $((base + 1)) --devices 20 --duration 3 --src 127.1.60.1 \
		--no-progress --json "$JSON" >"$TMP/nocid.out" 2>"$TMP/nocid.err" || status=$?
	kill "$pid" 2>/dev/null || true
	[ "$status" = 1 ] && [ "$(jf .ops.handshake.count)" = 20 ] &&
		[ "$(jf .counts.cid_refused)" = 20 ] && [ "$(jf .errors.coap_4xx)" = 20 ] &&
		[ "$(jf .errors.total)" = 20 ] && grep -q 'Register answered 4.04' "$TMP/nocid.err" &&
		return 0
	echo "exit $status: $(cat "$TMP/nocid.out" "$TMP/nocid.err")"
	return 1
}
check "a DTLS server without CID (coap-server-openssl): 20 handshakes, own sockets kept, Registers answered" \
	no_cid_server
finish
