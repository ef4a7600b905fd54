#!/usr/bin/env bash
# Interop: Eclipse Wakaama's example clients (built from the third-party
# tarballs by scripts/build-wakaama.sh, cached under build/) against
# lwm2m-emulator on 127.0.0.1:
#   lwm2mclient (plain CoAP): Register, Update, Read (TLV, typed by the
#     object models: Wakaama's test object from tests/interop/models/ and the
#     built-in Location object; with Accept:
#     SenML JSON, LwM2M JSON, and SenML CBOR refused 4.06), Discover (link
#     format), the LwM2M 1.1 Send operation (POST /dp, which the emulator
#     does not serve: it must say so in an event, not stay silent, and the
#     registration must live on), De-register;
#   lwm2mclient_tinydtls (DTLS 1.2 PSK, tinydtls): Register with the PSK
#     identity, Update, Write then Read back, Execute, Discover, Observe with
#     a notification, Cancel (no notification after it), a client restart on
#     the same address (new handshake, new registration, the old one
#     replaced), De-register.
# Values are checked as the emulator decoded them in its events.
# Skipped (one "ok # SKIP" line with the reason) when the tarballs are absent.
#
# Self-test: WRONG_PORT=1 points each client at the emulator's other port
# (the plain client at the DTLS port, the DTLS client at the plain CoAP
# port): no client can register then, and every check after the build and
# the emulator start must fail. NO_CANCEL=1 leaves the Cancel out: the
# Cancel check and the "not notified after the Cancel" check must then fail
# (Wakaama notifies the second change), the others pass.
#
# usage: tests/interop/wakaama-client.sh   (BUILD=build, EMULATOR=path)
set -euo pipefail

# shellcheck source=tests/interop/wakaama-lib.bash
source "$(dirname "$0")/wakaama-lib.bash"

wak_build
pass "Wakaama lwm2mclient and lwm2mclient_tinydtls built ($WAK_BIN)"

KEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
ID=wak-$$
MODELS=$(cd "$(dirname "$0")" && pwd)/models
if ! start_emulator --coap-port 0 --tls-port off --psk "$ID:$KEY" --control "$CTL" \
	--models "$MODELS" >"$TMP/start.out"; then
	fail "start lwm2m-emulator on 127.0.0.1" "$(cat "$TMP/start.out")"
	finish
	exit 1
fi
COAP_PORT=$(jq -r 'select(.event == "listening" and .proto == "coap") | .addr' "$EVENTS" |
	sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -1)
DTLS_PORT=$EMU_PORT
if [ "${WRONG_PORT:-0}" = 1 ]; then
	read -r COAP_PORT DTLS_PORT <<<"$DTLS_PORT $COAP_PORT"
fi
pass "lwm2m-emulator listening on 127.0.0.1 (coap $COAP_PORT, dtls $DTLS_PORT)"

# registered EP [IDENTITY] [NOT_SESSION]: a register event of EP (2.01,
# LwM2M 1.1, the Device and Wakaama's test object announced), with that PSK
# identity and on another session than NOT_SESSION when given.
registered() {
	local ev ident=${2:-} cond
	cond=".event == \"register\" and .endpoint == \"$1\" and .code == \"2.01\""
	[ -z "$ident" ] || cond="$cond and .identity == \"$ident\""
	[ -z "${3:-}" ] || cond="$cond and .session != $3"
	ev=$(wait_event "$cond" "$WAK_WAIT") || {
		echo "$ev"
		return 1
	}
	jq -e '.lwm2m == "1.1" and .binding == "U" and .lifetime == 60 and
		(.links | index("</3/0>") and index("</31024/10>"))' >/dev/null <<<"$ev" || {
		echo "register event lacks lwm2m 1.1, binding U, lifetime 60 or links: $ev"
		return 1
	}
	[ -n "$ident" ] || jq -e '.identity == null' >/dev/null <<<"$ev" || {
		echo "plain CoAP register has an identity: $ev"
		return 1
	}
}

# reg_field EP FIELD: FIELD of EP's last successful register event ("" if none).
reg_field() {
	jq -r "select(.event == \"register\" and .endpoint == \"$1\" and .code == \"2.01\") | .$2" \
		"$EVENTS" | tail -1
}

# updated LOC N: at least N Update events with 2.04 at LOC.
updated() {
	local n
	for _ in $(seq 1 100); do
		n=$(jq -s "[.[] | select(.event == \"update\" and .location == \"$1\" and .code == \"2.04\")] |
			length" "$EVENTS")
		[ "$n" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "expected $2 update events with 2.04 at '$1', saw $n; last events:"
	tail -3 "$EVENTS" | cut -c1-300
	return 1
}

# client_said NAME TEXT: the client printed TEXT within 5 s.
client_said() {
	for _ in $(seq 1 100); do
		grep -aq "$2" "$TMP/$1.out" && return 0
		sleep 0.05
	done
	echo "client $1 did not print '$2'; its last output:"
	tail -c 300 "$TMP/$1.out"
	return 1
}

# --- plain CoAP: lwm2mclient ------------------------------------------------
EP=wak-plain-$$
wak_start plain lwm2mclient -p "$COAP_PORT" -l "$(free_udp_port)" -n "$EP" -t 60
check "plain: Register -> emulator register event (2.01, lwm2m 1.1, links, no identity)" \
	registered "$EP"
[ "$(reg_field "$EP" code)" = 2.01 ] || wak_diag plain
P_LOC=$(reg_field "$EP" location)
P_LOC=${P_LOC:-/rd/none}
wak_cmd plain "update 123"
check "plain: Update -> 2.04 at $P_LOC" updated "$P_LOC" 1

r=$(ctl_request "$EP" read /3/0)
check "plain: Read /3/0 -> 2.05 TLV, Manufacturer and Serial Number decoded" answered "$r" \
	'.code == "2.05" and .format == 11542 and
	 (.decoded | any(.id == 0 and .text == "Open Mobile Alliance")) and
	 (.decoded | any(.id == 2 and .text == "345000123"))'
# Typed values: TLV carries no types. Wakaama's test object 31024 holds in
# instance 10 the Float -30.0 (TLV c1f00000, the integer -1041235968 when
# read untyped); the emulator types it with the DDF in tests/interop/models.
# The Location object (6) is built in: its latitude is a Float.
r=$(ctl_request "$EP" read /31024/10/3)
check "plain: Read /31024/10/3 (DDF given) -> TLV Float -30.0 named dec" answered "$r" \
	'.code == "2.05" and .format == 11542 and
	 (.decoded | any(.path == "/31024/10/3" and .name == "dec" and .type == "float" and
	  .value == -30))'
r=$(ctl_request "$EP" read /6/0)
check "plain: Read /6/0 -> Latitude a Float (built-in Location model)" answered "$r" \
	'.code == "2.05" and .format == 11542 and
	 (.decoded | any(.path == "/6/0/0" and .name == "Latitude" and .type == "float" and
	  .value > 27.98 and .value < 27.99))'
# Other content formats on request (Accept): SenML JSON and the older
# LwM2M JSON, which this Wakaama build serves, and SenML CBOR, which it
# does not (4.06 Not Acceptable, reported as such).
r=$(ctl_request "$EP" read /3/0 accept=senml+json)
check "plain: Read /3/0 Accept SenML JSON -> 2.05 format 110, /3/0/0 decoded" answered "$r" \
	'.code == "2.05" and .format == 110 and
	 (.decoded | any(.name == "/3/0/0" and .value == "Open Mobile Alliance"))'
r=$(ctl_request "$EP" read /3/0 accept=lwm2m+json)
check "plain: Read /3/0 Accept LwM2M JSON -> 2.05 format 11543, resource 2 decoded" answered "$r" \
	'.code == "2.05" and .format == 11543 and (.decoded.e | any(.n == "2" and .sv == "345000123"))'
r=$(ctl_request "$EP" read /3/0 accept=senml+cbor)
check "plain: Read /3/0 Accept SenML CBOR (not built in) -> 4.06 reported" answered "$r" \
	'.code == "4.06"'
r=$(ctl_request "$EP" discover /3/0)
check "plain: Discover /3/0 -> 2.05 link format listing /3/0/14" answered "$r" \
	'.code == "2.05" and .format == 40 and (.decoded | index("</3/0/14>"))'

# ctl request without --no-wait waits for the device and prints its answer.
out=$("$EMULATOR" ctl --control "$CTL" request endpoint="$EP" method=read path=/3/0/0 2>&1)
check "plain: ctl request (waiting) prints the reply, then the decoded 2.05 answer" \
	jq -e -s 'length == 2 and .[0].ok == true and .[1].event == "response_received" and
	 .[1].code == "2.05" and .[1].request == .[0].request' <<<"$out"

# LwM2M 1.1 Send: the emulator answers it 2.04 and decodes the records
# into a send event of this endpoint; the registration is untouched.
wak_cmd plain "send 123 /3/0/14"
check "plain: Send (POST /dp) -> 2.04, a send event of $EP with /3/0/14 decoded" \
	wait_event ".event == \"send\" and .endpoint == \"$EP\" and .code == \"2.04\" and
	 (.decoded | any(.name == \"/3/0/14\"))"
wak_cmd plain "update 123"
check "plain: the registration survives the Send (next Update 2.04 at $P_LOC)" updated "$P_LOC" 2
wak_quit plain
check "plain: quit -> De-register 2.02 of $P_LOC" wait_event \
	".event == \"deregister\" and .location == \"$P_LOC\" and .endpoint == \"$EP\" and .code == \"2.02\""

# --- DTLS PSK: lwm2mclient_tinydtls -----------------------------------------
EP=wak-dtls-$$
DPORT=$(free_udp_port)
DTLS_ARGS=(-p "$DTLS_PORT" -l "$DPORT" -n "$EP" -t 60 -i "$ID" -s "$KEY")
wak_start dtls lwm2mclient_tinydtls "${DTLS_ARGS[@]}"
check "dtls: handshake with PSK identity $ID" wait_event \
	".event == \"handshake_done\" and .identity == \"$ID\" and .peer == \"127.0.0.1:$DPORT\"" "$WAK_WAIT"
check "dtls: Register -> register event with identity $ID (2.01)" registered "$EP" "$ID"
[ "$(reg_field "$EP" code)" = 2.01 ] || wak_diag dtls
D_LOC=$(reg_field "$EP" location) D_SID=$(reg_field "$EP" session)
D_LOC=${D_LOC:-/rd/none} D_SID=${D_SID:-0}
wak_cmd dtls "update 123"
check "dtls: Update -> 2.04 at $D_LOC" updated "$D_LOC" 1

r=$(ctl_request "$EP" write /3/0/14 format=text payload=+02:00)
check "dtls: Write /3/0/14 (UTC offset) text +02:00 -> 2.04" answered "$r" '.code == "2.04"'
r=$(ctl_request "$EP" read /3/0/14)
check "dtls: Read /3/0/14 -> 2.05 TLV resource 14 = +02:00 (the write took)" answered "$r" \
	'.code == "2.05" and .format == 11542 and .decoded[0].id == 14 and .decoded[0].text == "+02:00"'
r=$(ctl_request "$EP" write /3/0/0 format=text payload=x)
check "dtls: Write /3/0/0 (read-only Manufacturer) -> 4.05 from the client" answered "$r" \
	'.code == "4.05"'
r=$(ctl_request "$EP" execute /3/0/5)
check "dtls: Execute /3/0/5 (Factory Reset) -> 2.04" answered "$r" '.code == "2.04"'
check "dtls: the client ran Factory Reset" client_said dtls "FACTORY RESET"
r=$(ctl_request "$EP" discover /3/0)
check "dtls: Discover /3/0 -> 2.05 link format listing /3/0/5" answered "$r" \
	'.code == "2.05" and .format == 40 and (.decoded | index("</3/0/5>"))'

OBS=$(ctl_request "$EP" observe /3/0/14)
check "dtls: Observe /3/0/14 -> 2.05 text +02:00" answered "$OBS" \
	'.code == "2.05" and .format == 0 and .decoded == "+02:00"'
wak_cmd dtls "change /3/0/14 +05:00"
check "dtls: the value changes on the client -> notify text +05:00" wait_event \
	".event == \"notify\" and .request == ${OBS:-0} and .format == 0 and .decoded == \"+05:00\""
r=
[ "${NO_CANCEL:-0}" = 1 ] || r=$(ctl_request "$EP" cancel /3/0/14 request="${OBS:-0}")
check "dtls: Cancel the observation -> 2.05" answered "$r" '.code == "2.05"'
# After the cancel a change must not be notified. The client takes a
# datagram before its stdin when both are ready, so the Read is sent only
# once the client has applied the change (it says "value changed!"); it
# sends a notification, if any, in its next step, before it reads the
# socket again, so once the Read's answer is there any notification is too.
wak_cmd dtls "change /3/0/14 +06:00"
changed_twice() {
	for _ in $(seq 1 100); do
		[ "$(grep -ac 'value changed!' "$TMP/dtls.err")" -ge 2 ] && return 0
		sleep 0.05
	done
	echo "the client did not apply the second change within 5 s"
	return 1
}
r=
! changed_twice >/dev/null || r=$(ctl_request "$EP" read /3/0/14)
no_notify_after_cancel() {
	changed_twice || return 1
	answered "$r" '.decoded[0].text == "+06:00"' || return 1
	if [ -n "$(jq -c "select(.event == \"notify\" and .request == ${OBS:-0} and
		.decoded == \"+06:00\")" "$EVENTS")" ]; then
		echo "a notification for +06:00 arrived after the cancel"
		return 1
	fi
}
check "dtls: after the Cancel a change (+06:00, read back) is not notified" no_notify_after_cancel

# Restart: the process dies without De-register (SIGTERM), a new one on the
# same address and endpoint does a new handshake and registers again; the
# emulator then holds one registration for the endpoint, on the new session,
# and reaches the device through it. A new second is waited for because
# Wakaama seeds its message ids and tokens from time(NULL).
wak_kill dtls
t0=$(date +%s)
while [ "$(date +%s)" = "$t0" ]; do sleep 0.05; done
n_hs=$(jq -s "[.[] | select(.event == \"handshake_done\" and .identity == \"$ID\")] | length" "$EVENTS")
wak_start dtls2 lwm2mclient_tinydtls "${DTLS_ARGS[@]}"
new_handshake() {
	local ev
	ev=$(wait_event ".event == \"handshake_done\" and .identity == \"$ID\" and .session != $D_SID and
		.peer == \"127.0.0.1:$DPORT\"" "$WAK_WAIT") || {
		echo "$ev"
		return 1
	}
	[ "$(jq -s "[.[] | select(.event == \"handshake_done\" and .identity == \"$ID\")] | length" \
		"$EVENTS")" -gt "$n_hs" ] || {
		echo "no handshake after the restart"
		return 1
	}
}
check "dtls restart: new handshake from the same address, new session" new_handshake
# RFC 6347 §4.2.8: a verified ClientHello (cookie) from the address of an
# open session is a restarted client; its old association is destroyed.
check "dtls restart: the old session $D_SID is closed (client_reconnect)" wait_event \
	".event == \"session_closed\" and .session == $D_SID and .reason == \"client_reconnect\""
check "dtls restart: Register again (2.01) on the new session" registered "$EP" "$ID" "$D_SID"
R_LOC=$(reg_field "$EP" location) R_SID=$(reg_field "$EP" session)
R_LOC=${R_LOC:-/rd/none} R_SID=${R_SID:-0}
one_registration() {
	local out
	out=$("$EMULATOR" ctl --control "$CTL" clients 2>&1) || {
		echo "ctl clients failed: $out"
		return 1
	}
	jq -e --arg ep "$EP" --arg loc "$R_LOC" --argjson sid "$R_SID" \
		'[.clients[] | select(.endpoint == $ep)] | length == 1 and
		 .[0].location == $loc and .[0].session == $sid' >/dev/null <<<"$out" || {
		echo "expected one registration of $EP at $R_LOC on session $R_SID: $out" | cut -c1-600
		return 1
	}
}
check "dtls restart: the old registration is replaced (ctl clients: one, the new)" one_registration
r=$(ctl_request "$EP" read /3/0/0)
check "dtls restart: Read /3/0/0 reaches the restarted client -> Open Mobile Alliance" answered "$r" \
	'.code == "2.05" and .decoded[0].text == "Open Mobile Alliance"'
# lwm2mclient_tinydtls crashes in its teardown after `quit` (this Wakaama
# version): its exit status and a close_notify are not checked.
wak_quit dtls2
check "dtls: quit -> De-register 2.02 of $R_LOC" wait_event \
	".event == \"deregister\" and .location == \"$R_LOC\" and .endpoint == \"$EP\" and .code == \"2.02\""

stop_emulator
finish
