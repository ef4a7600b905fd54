#!/usr/bin/env bash
# Interop in certificate mode (issue 7, item 1): Debian's libcoap clients on
# OpenSSL and on GnuTLS (coap-client-openssl, coap-client-gnutls from
# libcoap3-bin) register, update and de-register with lwm2m-emulator over
# DTLS with X.509 certificates from `make certs`, on 127.0.0.1 only. The
# emulator requires a client certificate (client_auth required), and its
# events must show the certificate subject, the suite and the registration.
#
# Certificates (paths from $BUILD/certs/index.json, see certs/README.md):
# the emulator presents server/localhost's chain and trusts ca/bundle.pem
# (intermediate + root) for clients, because libcoap 4.3.1 on OpenSSL sends
# only the first certificate of -c (the device's, without its intermediate);
# the clients trust ca/bundle.pem through -R.
#
# Self-test: BREAK_KEY=1 gives the clients client/untrusted's certificate and
# key (a key pair the emulator does not trust; a key that does not match its
# certificate is refused by libcoap itself before it sends anything): every
# positive check must then fail. The last check of each client does that on
# purpose with that wrong key.
#
# usage: tests/interop/emu-coap-client-cert.sh   (BUILD=build, EMULATOR=path)
# TAP output ("ok N - ...", "not ok N - ..."); exit 1 if any check failed.
set -euo pipefail

# shellcheck source=tests/interop/lib.bash
source "$(dirname "$0")/lib.bash"

# Numbered TAP lines (lib.bash's pass/fail print none).
N=0
pass() {
	N=$((N + 1))
	printf 'ok %d - %s\n' "$N" "$1"
	PASSED=$((PASSED + 1))
}
fail() {
	N=$((N + 1))
	printf 'not ok %d - %s\n' "$N" "$1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | head -8 | sed 's/^/  # /'
	FAILED=$((FAILED + 1))
}
finish() {
	echo "1..$N"
	echo "# $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

IMPLS=(openssl gnutls)
CERTS=${CERTS:-$BUILD/certs}
INDEX=$CERTS/index.json
LINKS='</1/0>,</3/0>'
LINKS_JSON='["</1/0>","</3/0>"]'

# cert_path ID FIELD: a file of certificate ID from index.json, as a path.
cert_path() {
	local rel
	rel=$(jq -r --arg id "$1" --arg f "$2" '.certs[] | select(.id == $id) | .[$f] // empty' "$INDEX")
	[ -n "$rel" ] || return 1
	printf '%s/%s\n' "$CERTS" "$rel"
}

if ! [ -r "$INDEX" ] ||
	! SRV_CHAIN=$(cert_path server/localhost chain) || ! SRV_KEY=$(cert_path server/localhost key) ||
	! CLI_CERT=$(cert_path client/dev1 cert) || ! CLI_KEY=$(cert_path client/dev1 key) ||
	! WRONG_CERT=$(cert_path client/untrusted cert) ||
	! WRONG_KEY=$(cert_path client/untrusted key) ||
	! CLI_SUBJECT=$(jq -r '.certs[] | select(.id == "client/dev1") | .subject' "$INDEX"); then
	fail "test PKI in $CERTS (index.json with server/localhost, client/dev1, client/untrusted)" \
		"run: make BUILD=$BUILD certs"
	finish
	exit 1
fi
TRUST=$CERTS/ca/bundle.pem
CERT=$CLI_CERT KEY=$CLI_KEY
[ "${BREAK_KEY:-0}" != 1 ] || CERT=$WRONG_CERT KEY=$WRONG_KEY

if ! start_emulator --cert "$SRV_CHAIN" --key "$SRV_KEY" --ca "$TRUST" \
	--client-auth required >"$TMP/start.out"; then
	fail "start lwm2m-emulator on 127.0.0.1 with server/localhost and client_auth required" \
		"$(cat "$TMP/start.out")"
	finish
	exit 1
fi
pass "lwm2m-emulator listening on 127.0.0.1:$EMU_PORT (dtls, certificates, client_auth required)"
URI=coaps://127.0.0.1:$EMU_PORT

# Mbed TLS prints a DN in DER order ("O=..., CN=dev1"), index.json the other
# way ("CN=dev1,O=..."): compare the sets of attributes.
SAME_SUBJECT="(.subject // \"\" | split(\", \") | sort) == (\"$CLI_SUBJECT\" | split(\",\") | sort)"

registered() { # EP
	expect_code 2.01 || return 1
	[[ $RESP_LOCATION == /rd/?* ]] || {
		echo "2.01 without a usable Location-Path: '$RESP_LOCATION'"
		return 1
	}
	expect_event ".event == \"handshake_done\" and $SAME_SUBJECT and
		.verify_flags == 0 and (.cipher | test(\"ECDHE-ECDSA\")) and .identity == null and
		.server_certificate.subject != null" || return 1
	expect_event ".event == \"register\" and .endpoint == \"$1\" and .lifetime == 60 and
		.code == \"2.01\" and .location == \"$RESP_LOCATION\" and .links == $LINKS_JSON"
}
answered() { # CODE EVENT_CONDITION
	expect_code "$1" && expect_event "$2"
}
failures() { grep -c '"event":"handshake_failed"' "$EVENTS" || true; }
refused() { # EP FAILURES_BEFORE: no CoAP answer, no registration, a new failed handshake
	local _
	[ -z "$RESP_CODE" ] || {
		echo "got CoAP $RESP_CODE with the wrong client key"
		return 1
	}
	if jq -e "select(.event == \"register\" and .endpoint == \"$1\")" "$EVENTS" >/dev/null; then
		echo "the emulator registered $1"
		return 1
	fi
	for _ in $(seq 1 60); do
		[ "$(failures)" -gt "$2" ] && return 0
		sleep 0.05
	done
	echo "no new handshake_failed event; the last events were:"
	tail -3 "$EVENTS"
	return 1
}

for impl in "${IMPLS[@]}"; do
	if ! command -v "coap-client-$impl" >/dev/null; then
		fail "coap-client-$impl present" "install Debian's libcoap3-bin: make deps"
		continue
	fi
	ep=interop-cert-$impl
	tls=(-c "$CERT" -j "$KEY" -R "$TRUST")

	coap "$impl" "${tls[@]}" -m post -t 40 -e "$LINKS" "$URI/rd?ep=$ep&lt=60&lwm2m=1.1&b=U"
	LOC=$RESP_LOCATION
	suite=$(jq -r 'select(.event == "handshake_done") | .cipher' "$EVENTS" | tail -1)
	subj=$(jq -r 'select(.event == "handshake_done") | .subject // "none"' "$EVENTS" | tail -1)
	check "$impl: register (POST /rd?ep=$ep, link-format) -> 2.01 ${LOC:-?}; emulator: subject '$subj', suite ${suite:-?}, register event" \
		registered "$ep"

	if [[ $LOC == /rd/?* ]]; then
		coap "$impl" "${tls[@]}" -m post "$URI$LOC?lt=120"
		check "$impl: update (POST $LOC?lt=120) -> 2.04; emulator: update event" answered 2.04 \
			".event == \"update\" and .location == \"$LOC\" and .lifetime == 120 and .code == \"2.04\""
		coap "$impl" "${tls[@]}" -m delete "$URI$LOC"
		check "$impl: de-register (DELETE $LOC) -> 2.02; emulator: deregister event" answered 2.02 \
			".event == \"deregister\" and .location == \"$LOC\" and .endpoint == \"$ep\" and .code == \"2.02\""
	else
		fail "$impl: update and de-register" "not run: the register gave no location"
	fi

	before=$(failures)
	coap "$impl" -c "$WRONG_CERT" -j "$WRONG_KEY" -R "$TRUST" -m post -t 40 -e "$LINKS" \
		"$URI/rd?ep=$ep-wrong&lt=60"
	check "$impl: wrong client key (client/untrusted's) -> no CoAP answer; emulator: no registration, handshake_failed" \
		refused "$ep-wrong" "$before"
done

stop_emulator
finish
