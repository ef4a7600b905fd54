#!/usr/bin/env bash
# Interop: Debian's libcoap clients built on OpenSSL and on GnuTLS
# (coap-client-openssl, coap-client-gnutls from libcoap3-bin) register,
# update and de-register with lwm2m-emulator over DTLS in PSK mode, on
# 127.0.0.1, and the emulator's events show the identity, the suite and the
# registration. A client with the wrong key must fail, and so must every
# positive check when the keys do not match (BREAK_KEY=1 proves that).
#
# usage: tests/interop/test-coap-client-psk.sh   (BUILD=build, EMULATOR=path)
# One TAP-style line per check; exit status 1 if any failed.
set -euo pipefail

# shellcheck source=tests/interop/lib.bash
source "$(dirname "$0")/lib.bash"

IMPLS=(openssl gnutls)
# A fresh random PSK per run, made of printable characters because
# coap-client's -k takes the key as a string; the emulator takes its hex.
KEY=$(openssl rand -hex 8)
CLIENT_KEY=$KEY
# Self-test of this script: with BREAK_KEY=1 the clients use another key, and
# every positive check below must then fail.
[ "${BREAK_KEY:-0}" != 1 ] || CLIENT_KEY=$(openssl rand -hex 8)
WRONG_KEY=$(openssl rand -hex 8)
LINKS='</1/0>,</3/0>'
LINKS_JSON='["</1/0>","</3/0>"]'

psk_args=()
for impl in "${IMPLS[@]}"; do
	psk_args+=(--psk "interop-$impl:$(hex "$KEY")")
done

if ! start_emulator "${psk_args[@]}" >"$TMP/start.out"; then
	fail "start lwm2m-emulator on 127.0.0.1" "$(cat "$TMP/start.out")"
	finish
	exit 1
fi
pass "lwm2m-emulator listening on 127.0.0.1:$EMU_PORT (dtls)"
URI=coaps://127.0.0.1:$EMU_PORT

# Checks on the last coap() answer and the emulator's events. They run in
# check's command substitution, so they see RESP_CODE, LOC, ... but set nothing.
registered() { # IMPL
	local id=interop-$1 ep=interop-ep-$1
	expect_code 2.01 || return 1
	[[ $RESP_LOCATION == /rd/?* ]] || {
		echo "2.01 without a usable Location-Path: '$RESP_LOCATION'"
		return 1
	}
	# A full handshake with a HelloVerifyRequest cookie round trip (on by default).
	expect_event ".event == \"handshake_done\" and .identity == \"$id\" and (.cipher | length > 0) and
		.cookie_verified == true and .resumed == false" || return 1
	expect_event ".event == \"register\" and .identity == \"$id\" and .endpoint == \"$ep\" and
		.lifetime == 60 and .code == \"2.01\" and .location == \"$RESP_LOCATION\" and
		.links == $LINKS_JSON"
}
answered() { # CODE EVENT_CONDITION
	expect_code "$1" && expect_event "$2"
}
refused() { # IDENTITY: no CoAP answer, and the emulator saw that identity fail
	[ -z "$RESP_CODE" ] || {
		echo "got CoAP $RESP_CODE with a wrong key"
		return 1
	}
	expect_event ".event == \"handshake_failed\" and .identity == \"$1\""
}

for impl in "${IMPLS[@]}"; do
	if ! command -v "coap-client-$impl" >/dev/null; then
		fail "coap-client-$impl present" "install Debian's libcoap3-bin: make deps"
		continue
	fi
	id=interop-$impl
	ep=interop-ep-$impl

	coap "$impl" -u "$id" -k "$CLIENT_KEY" -m post -t 40 -e "$LINKS" \
		"$URI/rd?ep=$ep&lt=60&lwm2m=1.1&b=U"
	LOC=$RESP_LOCATION
	suite=$(jq -r "select(.event == \"handshake_done\" and .identity == \"$id\") | .cipher" \
		"$EVENTS" | tail -1)
	check "$impl: register (POST /rd?ep=$ep, link-format) -> 2.01 ${LOC:-?}; emulator: identity $id, suite ${suite:-?}, register event" \
		registered "$impl"

	if [[ $LOC == /rd/?* ]]; then
		coap "$impl" -u "$id" -k "$CLIENT_KEY" -m post "$URI$LOC?lt=120"
		check "$impl: update (POST $LOC?lt=120) -> 2.04; emulator: update event" answered 2.04 \
			".event == \"update\" and .location == \"$LOC\" and .lifetime == 120 and .code == \"2.04\""
		coap "$impl" -u "$id" -k "$CLIENT_KEY" -m delete "$URI$LOC"
		check "$impl: de-register (DELETE $LOC) -> 2.02; emulator: deregister event" answered 2.02 \
			".event == \"deregister\" and .location == \"$LOC\" and .endpoint == \"$ep\" and .code == \"2.02\""
		coap "$impl" -u "$id" -k "$CLIENT_KEY" -m post "$URI$LOC"
		check "$impl: update after de-register -> 4.04" answered 4.04 \
			".event == \"update\" and .location == \"$LOC\" and .code == \"4.04\""
	else
		fail "$impl: update and de-register" "not run: the register gave no location"
	fi

	coap "$impl" -u "$id" -k "$WRONG_KEY" -m post -t 40 -e "$LINKS" "$URI/rd?ep=$ep-wrong&lt=60"
	check "$impl: wrong PSK -> no CoAP answer; emulator: handshake_failed for $id" refused "$id"
done

stop_emulator
finish
