#!/usr/bin/env bash
# lwm2m-client-shim against lwm2m-emulator: what the connect reply says about
# server authentication and the checks behind it. server_verified/insecure
# (PSK, certificates validated, validation off); the certificate name check
# when the URI host is an IP literal and no SNI is configured (the address
# must be an IP SAN of the certificate; only validation off skips it); DANE
# records with validation off refused; resumption_buffer_size 0 = a full
# handshake on every connect. Loopback only; TAP output.
# Usage: tests/interop/shim-security.sh [BUILD_DIR]   (EMULATOR=path overrides)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
SHIM=${SHIM:-$BUILD/bin/lwm2m-client-shim}
EMULATOR=${EMULATOR:-$BUILD/bin/lwm2m-emulator}
CERTS=${CERTS:-$BUILD/certs}
KEY=000102030405060708090a0b0c0d0e0f
. "$top/tests/interop/shim-lib.bash"
[ -f "$CERTS/server/wrong-host.crt" ] || { echo "not ok 1 - no test PKI in $CERTS (make certs)"; exit 1; }

# Starts the emulator on a free DTLS port with extra flags; sets PORT.
start_emulator() {
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
	: >"$work/emu.ev"
	"$EMULATOR" --bind 127.0.0.1 --coap-port off --dtls-port 0 --tls-port off --psk "dev1:$KEY" \
		--events "$work/emu.ev" "$@" >"$work/emu.log" 2>&1 &
	emu_pid=$!
	for _ in $(seq 1 50); do
		PORT=$(jq -r 'select(.event=="listening" and .proto=="dtls")|.addr' "$work/emu.ev" 2>/dev/null |
			sed 's/.*://' | head -1)
		[ -n "$PORT" ] && return 0
		sleep 0.1
	done
	return 1
}
shim() { timeout 60 "$SHIM" >"$work/out" 2>"$work/err"; }
reply() { jq -c "select(.event==\"reply\" and .id==$1)" "$work/out" | head -1; }
check() {
	local r; r=$(reply "$1")
	if [ -n "$r" ] && jq -e "$2" >/dev/null <<<"$r"; then tap OK "$3"; else tap FAIL "$3" "reply: ${r:-none}"; fi
}
psk() { # psk [EXTRA]
	printf '{"server":"127.0.0.1:%s","security":{"mode":"psk","identity":"dev1","key_hex":"%s"},"endpoint":"dev1","handshake_timeout_ms":{"min":200,"max":800}%s}' \
		"$PORT" "$KEY" "${1:-}"
}
crt() { # crt VALIDATION [EXTRA]: certificate mode, trusting the test root
	printf '{"server":"127.0.0.1:%s","security":{"mode":"certificate","trust_store":"%s","validation":%s},"endpoint":"dev1","handshake_timeout_ms":{"min":200,"max":800}%s}' \
		"$PORT" "$CERTS/ca/root.crt" "$1" "${2:-}"
}

start_emulator || { echo "not ok 1 - emulator did not start"; exit 1; }
shim <<EOF
{"cmd":"configure","id":1,"config":$(psk)}
{"cmd":"connect","id":2}
{"cmd":"close","id":3}
{"cmd":"connect","id":4}
{"cmd":"configure","id":5,"config":$(psk ',"resumption_buffer_size":0')}
{"cmd":"connect","id":6}
{"cmd":"close","id":7}
{"cmd":"connect","id":8}
EOF
check 2 '.ok and .server_verified==true and .insecure==false' "PSK: the key authenticates the server"
check 4 '.ok and .session_resumed==true' "PSK: with a buffer, close/connect resumes"
check 6 '.ok and .session_resumed==false' "resumption_buffer_size 0: full handshake"
check 8 '.ok and .session_resumed==false' "resumption_buffer_size 0: close/connect is a full handshake too"

start_emulator --cert "$CERTS/server/localhost.chain.pem" --key "$CERTS/server/localhost.key" ||
	{ tap FAIL "emulator with the localhost certificate did not start"; exit 1; }
shim <<EOF
{"cmd":"configure","id":1,"config":$(crt true)}
{"cmd":"connect","id":2}
{"cmd":"configure","id":3,"config":$(crt false)}
{"cmd":"connect","id":4}
{"cmd":"configure","id":5,"config":$(crt false ',"dane":[{"usage":3,"selector":1,"matching":1,"data_hex":"00"}]')}
{"cmd":"configure","id":6,"config":$(crt true)}
{"cmd":"set_option","id":7,"option":"dane_tlsa","value":[{"usage":3,"selector":1,"matching":1,"data_hex":"00"}]}
{"cmd":"configure","id":8,"config":$(crt false)}
{"cmd":"set_option","id":9,"option":"dane_tlsa","value":[{"usage":3,"selector":1,"matching":1,"data_hex":"00"}]}
EOF
check 2 '.ok and .server_verified==true and .insecure==false' \
	"certificate with IP SAN 127.0.0.1, no SNI: verified"
check 4 '.ok and .server_verified==false and .insecure==true' "validation off: the reply says insecure"
check 5 '(.ok|not) and .error=="EINVAL" and (.message|test("DANE records need server certificate validation"))' \
	"DANE records with validation off: configure refused, saying why"
check 7 '.ok' "set_option dane_tlsa with validation on: accepted"
check 9 '(.ok|not) and .error=="EINVAL" and (.message|test("validation"))' \
	"set_option dane_tlsa with validation off: refused"

start_emulator --cert "$CERTS/server/wrong-host.chain.pem" --key "$CERTS/server/wrong-host.key" ||
	{ tap FAIL "emulator with the wrong-host certificate did not start"; exit 1; }
shim <<EOF
{"cmd":"configure","id":1,"config":$(crt true)}
{"cmd":"connect","id":2}
{"cmd":"info","id":3}
{"cmd":"configure","id":4,"config":$(crt true ',"sni":"wrong-host.test"')}
{"cmd":"connect","id":5}
{"cmd":"configure","id":6,"config":$(crt false)}
{"cmd":"connect","id":7}
EOF
check 2 '(.ok|not) and .error=="EPROTO" and (.message|test("no IP SAN 127.0.0.1"))' \
	"wrong-host certificate at 127.0.0.1, no SNI: refused by the IP SAN check"
check 3 '.ok and .connected==false' "and the shim stays usable, not connected"
check 5 '.ok and .server_verified==true' "the same certificate with the SNI it names: verified"
check 7 '.ok and .insecure==true' "validation off is the only way around the name check"

echo "# $n tests, $failed failed"
[ "$failed" -eq 0 ]
