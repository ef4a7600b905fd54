#!/usr/bin/env bash
# Cancel Observation through the emulator's control socket against the real
# client (lwm2m-client-shim, Mbed TLS layer): `ctl request method=cancel
# request=N` must put on the wire a GET with Observe: 1 and the SAME token
# the observe carried (RFC 7641 §3.6), so the client drops its observer.
# libcoap's block mode puts tokens of its own on the wire, so the token the
# emulator's reply names is not enough: the shim's server_request events
# show what the client received. Also: `ctl --help` lists `request`.
# Loopback only, every wait bounded.
#
# usage: tests/interop/emu-observe-cancel.sh [BUILD_DIR]   (BUILD=build)
# TAP output; exit 1 if any check failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
SHIM=$BUILD/bin/lwm2m-client-shim
EMULATOR=${EMULATOR:-$BUILD/bin/lwm2m-emulator}
KEY=000102030405060708090a0b0c0d0e0f
n=0 failed=0 emu_pid= live_pid=
work=$(mktemp -d)
cleanup() {
	[ -n "$live_pid" ] && kill "$live_pid" 2>/dev/null
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

tap() {
	n=$((n + 1))
	if [ "$1" = OK ]; then echo "ok $n - $2"; else
		failed=$((failed + 1)); echo "not ok $n - $2"; [ -n "${3:-}" ] && echo "# $3"
	fi
}
tap_jq() { # tap_jq NAME JSON JQ
	if [ -n "$2" ] && jq -e "$3" >/dev/null <<<"$2"; then tap OK "$1"; else tap FAIL "$1" "got: ${2:-nothing}"; fi
}
for tool in "$SHIM" "$EMULATOR" jq; do
	command -v "$tool" >/dev/null || { echo "not ok 1 - missing $tool (make all)"; exit 1; }
done

# wait_for FILE JQ-COND: the last line matching within 5 s; prints it.
wait_for() {
	local ev
	for _ in $(seq 1 100); do
		ev=$(jq -c "select($2)" "$1" 2>/dev/null | tail -1)
		[ -n "$ev" ] && { echo "$ev"; return 0; }
		sleep 0.05
	done
	return 1
}
reply() { wait_for "$work/out" ".event==\"reply\" and .id==$1"; }
live() { printf '{"id":%s,%s}\n' "$1" "$2" >&7; reply "$1" >/dev/null; }
ctl() { "$EMULATOR" ctl --control "$work/ctl" "$@"; }
request() { # request METHOD PATH [k=v..]: prints the request id
	local m=$1 p=$2
	shift 2
	ctl --no-wait request endpoint=dev1 method="$m" path="$p" "$@" | jq -r '.request // empty'
}
answer() { wait_for "$work/emu.ev" ".event==\"response_received\" and .request==$1"; }

"$EMULATOR" --bind 127.0.0.1 --coap-port off --dtls-port 0 --tls-port off --psk "dev1:$KEY" \
	--control "$work/ctl" --events "$work/emu.ev" >"$work/emu.log" 2>&1 &
emu_pid=$!
port=$(wait_for "$work/emu.ev" '.event=="listening" and .proto=="dtls"' | jq -r .addr | sed 's/.*://')
[ -n "$port" ] || { echo "not ok 1 - the emulator did not start"; exit 1; }
mkfifo "$work/in"
timeout 60 "$SHIM" <"$work/in" >"$work/out" 2>"$work/err" &
live_pid=$!
exec 7>"$work/in"
live 1 '"cmd":"configure","config":{"server":"127.0.0.1:'"$port"'","security":{"mode":"psk","identity":"dev1","key_hex":"'"$KEY"'"},"endpoint":"dev1"}'
live 2 '"cmd":"connect"'
live 3 '"cmd":"register"'
tap_jq "the shim registers" "$(reply 3)" '.ok and .code=="2.01"'

obs=$(request observe /3/0)
tap_jq "Observe /3/0: 2.05" "$(answer "${obs:-0}")" '.code=="2.05"'
seen=$(wait_for "$work/out" '.event=="server_request" and .observe_value==0 and .path=="/3/0"')
obs_tok=$(jq -r '.token // empty' <<<"$seen")
cancel=$(request cancel /3/0 request="${obs:-0}")
tap_jq "Cancel: 2.05" "$(answer "${cancel:-0}")" '.code=="2.05"'
seen=$(wait_for "$work/out" '.event=="server_request" and .observe_value==1')
can_tok=$(jq -r '.token // empty' <<<"$seen")
if [ -n "$obs_tok" ] && [ "$obs_tok" = "$can_tok" ]; then
	tap OK "the cancel carries the observe's token on the wire ($obs_tok)"
else
	tap FAIL "the cancel carries the observe's token on the wire" "observe ${obs_tok:-none}, cancel ${can_tok:-none}"
fi
live 4 '"cmd":"notify"'
tap_jq "the client has no observer left" "$(reply 4)" '.ok and .observers==0'
sleep 0.5
n_notify=$(jq -s "[.[] | select(.event==\"notify\" and .request==${obs:-0})] | length" "$work/emu.ev")
[ "$n_notify" = 0 ] && tap OK "no notification after the cancel" ||
	tap FAIL "no notification after the cancel" "notify events: $n_notify"
echo '{"cmd":"quit","id":99}' >&7
exec 7>&-
wait "$live_pid" 2>/dev/null
live_pid=

help=$("$EMULATOR" ctl --help)
grep -q 'request endpoint=EP method=M path=' <<<"$help" && tap OK "ctl --help lists request" ||
	tap FAIL "ctl --help lists request"

nocontrol=$("$EMULATOR" ctl status 2>&1)
status=$?
[ "$status" = 2 ] && grep -q 'start the emulator with --control PATH' <<<"$nocontrol" &&
	tap OK "ctl without --control says how to start the emulator with one (exit 2)" ||
	tap FAIL "ctl without --control says how to start the emulator with one (exit 2)"

echo "# $n tests, $failed failed"
[ "$failed" -eq 0 ]
