#!/usr/bin/env bash
# Interop: Debian's coap-client-notls (libcoap3-bin) against lwm2m-emulator
# on its plain CoAP port (no DTLS), on 127.0.0.1. Plain CoAP peers get a
# session like DTLS ones: register, update and de-register answer as over
# DTLS, and the events and the `sessions` listing show that session (its id,
# transport "coap"), which is what server-initiated requests go through.
# WRONG_PORT=1 (self-test) sends every request to the DTLS port instead,
# where plain CoAP is not understood: every positive check must then fail.
#
# usage: tests/interop/emu-coap-client-plain.sh   (BUILD=build, EMULATOR=path)
set -euo pipefail

# shellcheck source=tests/interop/lib.bash
source "$(dirname "$0")/lib.bash"

CTL=$TMP/ctl.sock
EP=plain-interop-$$
LINKS='</1/0>,</3/0>'

if ! command -v coap-client-notls >/dev/null; then
	fail "coap-client-notls present" "install Debian's libcoap3-bin: make deps"
	finish
	exit 1
fi
if ! start_emulator --coap-port 0 --control "$CTL" >"$TMP/start.out"; then
	fail "start lwm2m-emulator on 127.0.0.1" "$(cat "$TMP/start.out")"
	finish
	exit 1
fi
COAP_PORT=$(jq -r 'select(.event == "listening" and .proto == "coap") | .addr' "$EVENTS" |
	sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -1)
[ "${WRONG_PORT:-0}" != 1 ] || COAP_PORT=$EMU_PORT
pass "lwm2m-emulator listening on 127.0.0.1:$COAP_PORT (coap)"
URI=coap://127.0.0.1:$COAP_PORT

registered() {
	expect_code 2.01 || return 1
	[[ $RESP_LOCATION == /rd/?* ]] || {
		echo "2.01 without a usable Location-Path: '$RESP_LOCATION'"
		return 1
	}
	expect_event '.event == "session_opened" and .transport == "coap" and .session > 0' || return 1
	expect_event ".event == \"register\" and .endpoint == \"$EP\" and .session > 0 and
		.identity == null and .code == \"2.01\" and .location == \"$RESP_LOCATION\" and
		.links == [\"</1/0>\",\"</3/0>\"]"
}
answered() { # CODE EVENT_CONDITION
	expect_code "$1" && expect_event "$2"
}
# The control API lists the registration's session as a plain CoAP one.
listed() {
	local sid out
	sid=$(jq -r "select(.event == \"register\" and .endpoint == \"$EP\") | .session" "$EVENTS" | tail -1)
	out=$("$EMULATOR" ctl --control "$CTL" sessions 2>&1) || {
		echo "ctl sessions failed: $out"
		return 1
	}
	jq -e --argjson sid "${sid:-0}" '.sessions[] | select(.session == $sid and .transport == "coap")' \
		<<<"$out" >/dev/null || {
		echo "session ${sid:-?} of $EP not listed as transport coap: $out"
		return 1
	}
}

coap notls -m post -t 40 -e "$LINKS" "$URI/rd?ep=$EP&lt=60&lwm2m=1.1&b=U"
LOC=$RESP_LOCATION
check "register (POST /rd?ep=$EP) -> 2.01 ${LOC:-?}; emulator: session_opened (coap), register with its session" \
	registered
check "ctl sessions lists that session with transport coap" listed
coap notls -m post "$URI${LOC:-/rd/none}?lt=120"
check "update (POST ${LOC:-?}?lt=120) -> 2.04; emulator: update event" answered 2.04 \
	".event == \"update\" and .location == \"$LOC\" and .lifetime == 120 and .code == \"2.04\""
coap notls -m delete "$URI${LOC:-/rd/none}"
check "de-register (DELETE ${LOC:-?}) -> 2.02; emulator: deregister event" answered 2.02 \
	".event == \"deregister\" and .location == \"$LOC\" and .endpoint == \"$EP\" and .code == \"2.02\""

stop_emulator
finish
