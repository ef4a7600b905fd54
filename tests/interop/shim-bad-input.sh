#!/usr/bin/env bash
# Issue 4 "Bad input": one lwm2m-client-shim process is fed malformed JSON
# commands, bad hex keys, unknown ciphersuite ids, missing and malformed
# certificate and key files, a missing, oversized, corrupt or truncated
# resumption buffer. Each gets a clear error reply (class + message naming
# the culprit), a corrupt buffer falls back to a full handshake, and the same
# process then still connects and registers with lwm2m-emulator. A --layer
# that is missing or is no layer stops the shim with exit 2 and the reason.
# Loopback only; TAP output. Usage: tests/interop/shim-bad-input.sh [BUILD_DIR]
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
SHIM=${SHIM:-$BUILD/bin/lwm2m-client-shim}
EMULATOR=${EMULATOR:-$BUILD/bin/lwm2m-emulator}
CERTS=$BUILD/certs
KEY=000102030405060708090a0b0c0d0e0f
. "$top/tests/interop/shim-lib.bash"
[ -f "$CERTS/client/dev1.crt" ] || { echo "not ok 1 - no test PKI in $CERTS (make certs)"; exit 1; }

: >"$work/emu.ev"
"$EMULATOR" --bind 127.0.0.1 --coap-port off --tls-port off --dtls-port 0 --psk "dev1:$KEY" \
	--events "$work/emu.ev" >"$work/emu.log" 2>&1 &
emu_pid=$!
for _ in $(seq 1 50); do
	PORT=$(jq -r 'select(.event=="listening" and .proto=="dtls")|.addr' "$work/emu.ev" 2>/dev/null |
		sed 's/.*://' | head -1)
	[ -n "$PORT" ] && break
	sleep 0.1
done
[ -n "$PORT" ] || { echo "not ok 1 - emulator did not start"; cat "$work/emu.log"; exit 1; }

# Inputs: garbage where PEM is expected, a PEM with a broken body, a key
# file that is a certificate, resumption buffers that are noise, cut short,
# or a real one with its middle overwritten.
head -c 300 /dev/urandom >"$work/garbage.pem"
printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' >"$work/broken.pem"
head -c 600 /dev/urandom >"$work/noise.rb"
head -c 5000 /dev/zero >"$work/big.rb"
S="\"server\":\"127.0.0.1:$PORT\",\"endpoint\":\"dev1\",\"handshake_timeout_ms\":{\"min\":200,\"max\":800}"
PSK='"security":{"mode":"psk","identity":"dev1","key_hex":"'$KEY'"}'
cert() { printf '"security":{"mode":"certificate","trust_store":"%s","client_cert":"%s","client_key":"%s"}' "$@"; }
CA=$CERTS/ca/root.crt CRT=$CERTS/client/dev1.crt CKEY=$CERTS/client/dev1.key

# A first process makes a real resumption buffer to corrupt (and a key log,
# which must come out 0600 under umask 022, like the saved buffer).
(umask 022; timeout 60 "$SHIM" >"$work/out0" 2>/dev/null) <<EOF
{"cmd":"configure","id":1,"config":{$S,$PSK,"keylog":"$work/shim-keylog.txt"}}
{"cmd":"connect","id":2}
{"cmd":"close","id":3}
{"cmd":"save_resumption","id":4,"path":"$work/good.rb"}
EOF
# The buffer is a 16-byte header (blob length as u32 BE at offset 8) and the
# session blob: damage and cut inside the blob, not in the unused tail.
size=$(od -An -tu1 -j8 -N4 "$work/good.rb" 2>/dev/null | awk '{print $1*16777216+$2*65536+$3*256+$4}')
if [ "${size:-0}" -gt 32 ]; then
	cp "$work/good.rb" "$work/flipped.rb"
	printf '\x5a\x5a\x5a\x5a' | dd of="$work/flipped.rb" bs=1 seek=$((16 + size / 2)) conv=notrunc 2>/dev/null
	head -c $((16 + size / 2)) "$work/good.rb" >"$work/half.rb"
	tap OK "a real resumption buffer to corrupt ($size-byte session blob)"
else
	tap FAIL "a real resumption buffer to corrupt" "$(cat "$work/out0")"
fi

timeout 120 "$SHIM" >"$work/out" 2>"$work/err" <<EOF
{"cmd":
[1,2]
{"id":3}
{"cmd":"frobnicate","id":4}
{"cmd":"connect","id":5,"extra":
{"cmd":"configure","id":10,"config":{$S,"security":{"mode":"psk","identity":"dev1","key_hex":"0g"}}}
{"cmd":"configure","id":11,"config":{$S,"security":{"mode":"psk","identity":"dev1","key_hex":"abc"}}}
{"cmd":"configure","id":12,"config":{$S,"security":{"mode":"psk","identity":"dev1","key_hex":""}}}
{"cmd":"configure","id":20,"config":{$S,$PSK,"ciphersuites":[1234]}}
{"cmd":"configure","id":21,"config":{$S,$PSK,"ciphersuites":[70000]}}
{"cmd":"configure","id":22,"config":{$S,$PSK,"ciphersuites":["TLS-NO-SUCH-SUITE"]}}
{"cmd":"configure","id":30,"config":{$S,$(cert "$work/missing.pem" "$CRT" "$CKEY")}}
{"cmd":"configure","id":31,"config":{$S,$(cert "$work/garbage.pem" "$CRT" "$CKEY")}}
{"cmd":"configure","id":32,"config":{$S,$(cert "$work/broken.pem" "$CRT" "$CKEY")}}
{"cmd":"configure","id":33,"config":{$S,$(cert "$CA" "$work/garbage.pem" "$CKEY")}}
{"cmd":"configure","id":34,"config":{$S,$(cert "$CA" "$CRT" "$work/missing.key")}}
{"cmd":"configure","id":35,"config":{$S,$(cert "$CA" "$CRT" "$CRT")}}
{"cmd":"configure","id":40,"config":{$S,$PSK}}
{"cmd":"load_resumption","id":41,"path":"$work/missing.rb"}
{"cmd":"load_resumption","id":42,"path":"$work/big.rb"}
{"cmd":"load_resumption","id":43,"path":"$work/noise.rb"}
{"cmd":"connect","id":44}
{"cmd":"close","id":45}
{"cmd":"configure","id":50,"config":{$S,$PSK}}
{"cmd":"load_resumption","id":51,"path":"$work/flipped.rb"}
{"cmd":"connect","id":52}
{"cmd":"close","id":53}
{"cmd":"configure","id":54,"config":{$S,$PSK}}
{"cmd":"load_resumption","id":55,"path":"$work/half.rb"}
{"cmd":"connect","id":56}
{"cmd":"register","id":57}
{"cmd":"deregister","id":58}
EOF
status=$?
reply() { jq -c "select(.event==\"reply\" and .id==$1)" "$work/out" 2>/dev/null | head -1; }
check() {
	local r; r=$(reply "$1")
	if [ -n "$r" ] && jq -e "$2" >/dev/null <<<"$r"; then tap OK "$3"; else tap FAIL "$3" "reply: ${r:-none}"; fi
}
anon() { jq -c "select(.event==\"reply\" and (has(\"id\")|not))" "$work/out" | sed -n "${1}p"; }
r=$(anon 1)
jq -e '(.ok|not) and .error=="EINVAL" and (.message|test("line 1: .*column"))' >/dev/null <<<"$r" &&
	tap OK "truncated JSON: EINVAL naming line and column" || tap FAIL "truncated JSON" "reply: $r"
r=$(anon 2)
jq -e '(.ok|not) and .error=="EINVAL" and (.message|test("not an object"))' >/dev/null <<<"$r" &&
	tap OK "a JSON array: EINVAL, not an object" || tap FAIL "a JSON array" "reply: $r"
check 3 '(.ok|not) and .error=="EINVAL" and (.message|test("missing \"cmd\""))' "no cmd: EINVAL, id echoed"
check 4 '(.ok|not) and .error=="EINVAL" and (.message|test("unknown command \"frobnicate\""))' "unknown command named"
r=$(anon 3)
jq -e '(.ok|not) and .error=="EINVAL" and (.message|test("line 5"))' >/dev/null <<<"$r" &&
	tap OK "a broken line after good ones: EINVAL for line 5" || tap FAIL "broken line 5" "reply: $r"
check 10 '(.ok|not) and .error=="EINVAL" and (.message|test("security.key_hex"))' "key_hex \"0g\": names the key"
check 11 '(.ok|not) and .error=="EINVAL" and (.message|test("security.key_hex"))' "odd-length key_hex: names the key"
check 12 '(.ok|not) and .error=="EINVAL" and (.message|test("key_hex"))' "empty key_hex refused"
check 20 '(.ok|not) and .error=="EINVAL" and (.message|test("0x04D2"))' "unknown ciphersuite id 1234 named"
check 21 '(.ok|not) and .error=="EINVAL" and (.message|test("ciphersuites\\[0\\]"))' "ciphersuite id 70000 out of range"
check 22 '(.ok|not) and .error=="EINVAL" and (.message|test("ciphersuites\\[0\\]"))' "unknown suite name refused"
check 30 '(.ok|not) and .error=="EINVAL" and (.message|test("missing.pem")) and .mbedtls_error<0' "missing trust store file named"
check 31 '(.ok|not) and .error=="EINVAL" and (.message|test("garbage.pem")) and .mbedtls_error<0' "garbage trust store named"
check 32 '(.ok|not) and .error=="EINVAL" and (.message|test("broken.pem"))' "PEM with a broken body named"
check 33 '(.ok|not) and .error=="EINVAL" and (.message|test("client certificate.*garbage.pem"))' "garbage client certificate named"
check 34 '(.ok|not) and .error=="EINVAL" and (.message|test("missing.key"))' "missing client key file named"
check 35 '(.ok|not) and .error=="EINVAL" and (.message|test("dev1.crt"))' "a certificate given as the key is refused"
check 40 '.ok' "a good configure after all that"
check 41 '(.ok|not) and .error=="ENOENT" and (.message|test("missing.rb"))' "missing resumption file: ENOENT"
check 42 '(.ok|not) and (.message|test("4096|too large|larger"))' "resumption file larger than the buffer refused"
check 43 '.ok' "a noise buffer is accepted as bytes (the layer judges it at connect)"
check 44 '.ok and .session_resumed==false and .connection_id_resumed==false' "noise buffer: full handshake, no crash"
check 51 '.ok' "buffer with its middle overwritten loads"
check 52 '.ok and .session_resumed==false' "overwritten buffer: full handshake, no crash"
check 55 '.ok' "half a buffer loads"
check 56 '.ok and .session_resumed==false' "half a buffer: full handshake, no crash"
check 57 '.ok and .code=="2.01"' "the same process still registers"
check 58 '.ok and .code=="2.02"' "and de-registers"
[ "$status" = 0 ] && tap OK "the shim exits 0 at EOF" || tap FAIL "the shim exits 0 at EOF" "status $status; $(tail -3 "$work/err")"
# --layer that cannot be used: exit 2 before reading any command, and say why.
timeout 10 "$SHIM" --layer "$work/missing.so" </dev/null >"$work/l.out" 2>"$work/l.err"
[ $? = 2 ] && grep -q "cannot load layer" "$work/l.err" && tap OK "--layer with a missing file: exit 2, named" ||
	tap FAIL "--layer with a missing file: exit 2, named" "$(cat "$work/l.err")"
so=$(ldconfig -p 2>/dev/null | sed -n 's/.*libjansson.so.4 .*=> //p' | head -1)
timeout 10 "$SHIM" --layer "${so:-libjansson.so.4}" </dev/null >"$work/l.out" 2>"$work/l.err"
[ $? = 2 ] && grep -q "does not export sl_layer_entry" "$work/l.err" &&
	tap OK "--layer with a library that is no layer: exit 2, symbol named" ||
	tap FAIL "--layer with a library that is no layer: exit 2, symbol named" "$(cat "$work/l.err")"
modes=$(stat -c %a "$work/shim-keylog.txt" "$work/good.rb" 2>&1 | tr '\n' ' ')
[ "$modes" = "600 600 " ] && tap OK "the shim's key log and saved buffer are 0600 under umask 022" ||
	tap FAIL "the shim's key log and saved buffer are 0600 under umask 022" "modes: $modes"
# Over-long stdin lines (issue 14, finding 5): exactly the buffer (64 KiB)
# and three times it, each followed on the same line by a valid command: an
# EMSGSIZE reply, the tail never runs, the next line does.
for len in 65536 200000; do
	{
		head -c "$len" /dev/zero | tr '\0' x
		echo '{"cmd":"info","id":"TAIL"}'
		echo '{"cmd":"info","id":"NEXT"}'
	} | timeout 20 "$SHIM" 2>/dev/null | jq -c 'select(.event=="reply") | [.id, .ok, .error]' \
		>"$work/long.out"
	got=$(tr -d '\n' <"$work/long.out")
	[ "$got" = '[null,false,"EMSGSIZE"]["NEXT",true,null]' ] &&
		tap OK "a $len-byte line: refused (EMSGSIZE), its tail not run, the next line runs" ||
		tap FAIL "a $len-byte line: refused (EMSGSIZE), its tail not run, the next line runs" "replies: $got"
done
echo "# $n tests, $failed failed"
[ "$failed" -eq 0 ]
