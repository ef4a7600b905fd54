#!/usr/bin/env bash
# lwm2m-load --auth none (plain CoAP, LwM2M NoSec) against lwm2m-emulator's
# CoAP port, and the formats a fleet device answers in, decoded by the
# emulator (not a benchmark: nothing here is timed). 30 devices register and
# update; their counts must be the emulator's events. The server then reads
# one device in every format it may ask for (text/plain, TLV, SenML JSON,
# SenML CBOR, link-format) and must decode the device's value from each; an
# Accept the device has no format for is answered 4.06; an Observe in TLV
# gets TLV notifications, as many as the fleet says it sent. Bad input:
# DTLS-only options with --auth none exit 2 naming the option; a closed
# port ends the run on time with the refusals counted. A server restarted
# without its state answers the next Updates 4.04: every device Registers
# again, once (LwM2M 1.1 TS Core §6.3.2).
# It fails when a device ignores Accept (fl_fmt_choose returning text/plain
# for everything: the TLV, SenML and link-format reads are `not ok`, tried)
# or when the NoSec transport is not the one used (--auth none through the
# DTLS table: no device registers).
#
# usage: tests/interop/fleet-nosec.sh   (BUILD=build, EMULATOR=path)
set -euo pipefail

# shellcheck source=tests/interop/lib.bash
source "$(dirname "$0")/lib.bash"
# shellcheck source=tests/ports.bash
source "$(dirname "$0")/../ports.bash"

LOAD=$BUILD/bin/lwm2m-load
N=30
CTL=$TMP/ctl.sock
JSON=$TMP/fleet.json

if [ ! -x "$LOAD" ]; then
	fail "lwm2m-load built" "$LOAD missing: run 'make unit-tests-bin' or 'make bench-build'"
	finish
	exit 1
fi
if ! start_emulator --tls-port off --coap-port 0 --control "$CTL" >"$TMP/start.out"; then
	fail "start lwm2m-emulator" "$(cat "$TMP/start.out")"
	finish
	exit 1
fi
COAP_PORT=$(jq -r 'select(.event == "listening" and .proto == "coap") | .addr' "$EVENTS" |
	sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -1)
if [ -z "$COAP_PORT" ]; then
	fail "the emulator's CoAP port" "no coap listening event: $(head -5 "$EVENTS")"
	finish
	exit 1
fi
pass "lwm2m-emulator with plain CoAP on 127.0.0.1:$COAP_PORT"

ctl() { timeout 10 "$EMULATOR" ctl --control "$CTL" "$@"; }
jf() { jq -r "$1" "$JSON" 2>/dev/null; }
events() { jq -c "select($1)" "$EVENTS" 2>/dev/null | wc -l; }

FORMATS=(text tlv 110 112 40 60)
# Once every device is registered: ns-3 read in each format, ns-7 observed
# in TLV (bounded: gives up after 30 s).
server_requests() {
	for _ in $(seq 1 300); do
		[ "$(ctl status | jq -r .registrations)" = "$N" ] && break
		sleep 0.1
	done
	for f in "${FORMATS[@]}"; do
		ctl request endpoint=ns-3 method=read path=/3/0/1 accept="$f" | tail -1 >"$TMP/read-$f.out"
	done
	ctl request endpoint=ns-7 method=observe path=/3/0/2 accept=tlv >"$TMP/observe.out"
}
server_requests &
REQ_PID=$!
STATUS=0
timeout 90 "$LOAD" --auth none --port "$COAP_PORT" --devices "$N" --duration 60 --steady 4 \
	--update-rate 60 --ep-prefix ns- --no-progress --json "$JSON" >"$TMP/fleet.out" \
	2>"$TMP/fleet.err" || STATUS=$?
wait "$REQ_PID" || true
ran_clean() {
	[ "$STATUS" = 0 ] && [ "$(jf .status)" = ok ] && [ "$(jf .errors.total)" = 0 ] &&
		[ "$(jf .auth)" = none ] && return 0
	echo "exit $STATUS; $(cat "$TMP/fleet.out" "$TMP/fleet.err")"
	return 1
}
check "$N NoSec devices: exit 0, no error, JSON written" ran_clean

same() {
	[ -n "$2" ] && [ "$2" = "$3" ] && return 0
	echo "$1: the fleet says '$2', the emulator '$3'"
	return 1
}
REGS=$(ctl status | jq -r .registrations)
check "registrations: fleet $(jf .counts.registered) = emulator status $REGS = $N" \
	same registrations "$(jf .counts.registered)/$N" "$REGS/$REGS"
check "Registers over plain CoAP: one per device (ns-0..ns-$((N - 1)))" \
	same "distinct endpoints" "$N" \
	"$(jq -r 'select(.event == "register") | .endpoint' "$EVENTS" | sort -u | grep -c '^ns-[0-9]*$')"
check "Updates: fleet $(jf .ops.update.count) = emulator update events" \
	same updates "$(jf .ops.update.count)" "$(events '.event == "update"')"
check "no handshake (NoSec), no hibernation" \
	same "handshakes + hibernated" 0 "$(($(jf .ops.handshake.count) + $(jf .hibernated)))"

# decoded F JQ: the read in format F was 2.05, in format CF, and JQ on the
# emulator's decoding of it is the device's value.
decoded() {
	local f=$1 cf=$2 q=$3 ev
	ev=$(cat "$TMP/read-$f.out")
	[ "$(jq -r .code <<<"$ev")" = 2.05 ] && [ "$(jq -r .format <<<"$ev")" = "$cf" ] &&
		[ "$(jq -r "$q" <<<"$ev")" = "$4" ] && return 0
	echo "read with accept=$f: $ev"
	return 1
}
check "read in text/plain: the value, decoded" decoded text 0 .decoded fleet-3-0
check "read in TLV: a resource TLV /3/0/1 with the value" \
	decoded tlv 11542 '.decoded[0] | "\(.path)=\(.value)"' /3/0/1=fleet-3-0
check "read in SenML JSON: one record, /3/0/1 and the value" \
	decoded 110 110 '.decoded[0] | "\(.name)=\(.value)"' /3/0/1=fleet-3-0
check "read in SenML CBOR: one record, /3/0/1 and the value" \
	decoded 112 112 '.decoded[0] | "\(.name)=\(.value)"' /3/0/1=fleet-3-0
check "read in link-format (Discover's): the resource's link" decoded 40 40 '.decoded[0]' '</3/0/1>'
not_acceptable() {
	[ "$(jq -r .code "$TMP/read-60.out")" = 4.06 ] && [ "$(jf .counts.refused_reads)" = 1 ] &&
		[ "$(jf .counts.reads)" = 5 ] && return 0
	echo "read with accept=60: $(cat "$TMP/read-60.out"); fleet reads $(jf .counts.reads), refused $(jf .counts.refused_reads)"
	return 1
}
check "an Accept without a format (60, CBOR): 4.06, counted as refused" not_acceptable
notified() {
	local got tlv
	got=$(events '.event == "notify" and .endpoint == "ns-7"')
	tlv=$(jq -c 'select(.event == "notify" and .endpoint == "ns-7" and .format == 11542 and
		(.decoded[0].value | startswith("fleet-7-")))' "$EVENTS" | wc -l)
	[ "$got" -ge 1 ] && [ "$got" = "$(jf .counts.notifies)" ] && [ "$tlv" = "$got" ] && return 0
	echo "fleet notifies $(jf .counts.notifies), emulator notify events $got, of them TLV with the value $tlv"
	return 1
}
check "Observe in TLV: the fleet's notifications all arrived, each TLV with the value" notified

check "--auth none --resume 50: exit 2, names --resume" \
	load_refuses --auth none --port "$COAP_PORT" --devices 5 --resume 50 "without DTLS: --resume does not apply"
check "--auth none --psk: exit 2, names --psk" \
	load_refuses --auth none --port "$COAP_PORT" --devices 5 --psk a:00 "without DTLS: --psk does not apply"
check "--auth with an unknown mode: exit 2, lists the modes" \
	load_refuses --auth nosec --port "$COAP_PORT" --devices 5 "want psk, cert or none"

closed_port() {
	local status=0 port
	port=$(free_ports 1)
	timeout 30 "$LOAD" --auth none --port "$port" --devices 20 --duration 3 --no-progress \
		--json "$JSON" >"$TMP/fail.out" 2>"$TMP/fail.err" || status=$?
	[ "$status" = 1 ] && [ "$(jf .errors.refused)" -gt 0 ] && [ "$(jf .counts.registered)" = 0 ] &&
		grep -q 'listening on CoAP (NoSec)' "$TMP/fail.err" && return 0
	echo "exit $status; $(cat "$TMP/fail.out" "$TMP/fail.err")"
	return 1
}
check "a closed port: Registers refused, counted, exit 1 on time" closed_port

# plain_emulator EVENTS PORT: an emulator on plain CoAP only, its pid in
# PLAIN_PID once it listens (5 s at most).
PLAIN_PIDS=()
plain_emulator() {
	timeout 60 "$EMULATOR" --bind 127.0.0.1 --dtls-port off --tls-port off --coap-port "$2" \
		--events "$1" >>"$TMP/plain-emulator.log" 2>&1 &
	PLAIN_PID=$!
	PLAIN_PIDS+=("$PLAIN_PID")
	wait_count "$1" '.event == "listening"' 1 5
}
# wait_count FILE FILTER N SECONDS: N events matching FILTER in FILE.
wait_count() {
	for _ in $(seq 1 $(($4 * 20))); do
		[ "$(jq -c "select($2)" "$1" 2>/dev/null | wc -l)" -ge "$3" ] && return 0
		sleep 0.05
	done
	echo "fewer than $3 events '$2' in $1 within $4 s"
	return 1
}
# A server restart without state while 10 devices are registered: Updates
# sent while it is down are refused (counted) and retransmitted, the next
# ones get 4.04 and each device Registers again, once; the new server ends
# up with all 10 registered.
restart_registers_again() {
	local port status=0 n=10 regs
	port=$(free_ports 1)
	plain_emulator "$TMP/r1.json" "$port" || return 1
	timeout 60 "$LOAD" --auth none --port "$port" --devices $n --duration 9 --update-rate 20 \
		--ep-prefix rs- --no-progress --json "$JSON" >"$TMP/rs.out" 2>"$TMP/rs.err" &
	local load=$!
	wait_count "$TMP/r1.json" '.event == "register"' $n 10 || return 1
	kill -KILL "$(child_of "$PLAIN_PID")" "$PLAIN_PID" 2>/dev/null
	sleep 1 # some 20 Updates meet the closed port: refused, retransmitted
	plain_emulator "$TMP/r2.json" "$port" || return 1
	wait "$load" || status=$?
	regs=$(jq -r 'select(.event == "register" and .code == "2.01") | .endpoint' "$TMP/r2.json" |
		sort -u | wc -l)
	[ "$status" = 1 ] && [ "$(jf .counts.lost_registrations)" = $n ] && [ "$regs" = $n ] &&
		[ "$(jf .errors.coap_4xx)" = $n ] && [ "$(jf .counts.registered)" = $n ] &&
		[ "$(jf .errors.refused)" -gt 0 ] &&
		[ "$(jf .errors.total)" = $((n + $(jf .errors.refused))) ] && return 0
	echo "exit $status; fleet: lost $(jf .counts.lost_registrations), registered $(jf .counts.registered), errors $(jf .errors); new server: $regs endpoints registered"
	cat "$TMP/rs.out" "$TMP/rs.err"
	return 1
}
# child_of PID: the lwm2m-emulator that timeout(1) PID runs.
child_of() {
	local stat
	for stat in /proc/[0-9]*/stat; do
		[ "$(sed 's/.*) //' "$stat" 2>/dev/null | cut -d' ' -f2)" = "$1" ] || continue
		stat=${stat#/proc/}
		echo "${stat%/stat}"
		return 0
	done
}
check "a server restarted without state: refusals meanwhile, 4.04, each device Registers again" \
	restart_registers_again
for pid in "${PLAIN_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done

finish
