#!/usr/bin/env bash
# SIGHUP reload of lwm2m-emulator (issue 3): PSKs, vhosts, certificates and
# CID settings change for new handshakes while an established CID session
# keeps working (no session_closed, no new handshake); a reload that fails
# keeps the old credentials. Clients: lwm2m-client-shim (the Mbed TLS reference layer), on
# 127.0.0.1 only, every wait bounded.
#
# usage: tests/interop/emu-reload.sh   (BUILD=build)
# TAP output ("ok N - ...", "not ok N - ..."); exit 1 if any check failed.
set -uo pipefail

# shellcheck source=tests/interop/lib.bash
source "$(dirname "$0")/lib.bash"

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

SHIM=$BUILD/bin/lwm2m-client-shim
CERTS=$BUILD/certs
K1=$(openssl rand -hex 16)
K2=$(openssl rand -hex 16)
CONF=$TMP/emulator.json

[ -x "$SHIM" ] && [ -r "$CERTS/index.json" ] || {
	fail "$SHIM and $CERTS built" "run: make BUILD=$BUILD all certs"
	finish
	exit 1
}
sha_of() { jq -r --arg id "$1" '.certs[] | select(.id == $id) | .sha256_cert' "$CERTS/index.json"; }

# write_conf KEY CERT_ID [EXTRA_VHOST]: the config file the emulator re-reads
# ($.dtls.cid from CID_JSON).
CID_JSON='{"enabled":true,"length":8}'
write_conf() {
	local vh='[{"name":"a.example","psk":[{"identity":"a-dev","key_hex":"'$1'"}]}'
	[ -z "${3:-}" ] || vh+=',{"name":"'$3'","psk":[{"identity":"b-dev","key_hex":"'$1'"}]}'
	jq -n --arg k "$1" --arg c "$CERTS/$2.chain.pem" --arg key "$CERTS/$2.key" --argjson vh "$vh]" \
		--argjson cid "$CID_JSON" \
		'{psk: [{identity: "dev", key_hex: $k}], certificate: {cert: $c, key: $key},
		  vhosts: $vh, sni: {unknown: "reject", missing: "default"}, dtls: {cid: $cid}}' \
		>"$CONF"
}

# shim_conf IDENTITY KEY [SNI]: a PSK client config for the shim.
shim_conf() {
	jq -cn --arg p "$EMU_PORT" --arg id "$1" --arg k "$2" --arg sni "${3:-}" \
		'{server: ("127.0.0.1:" + $p), transport: "dtls", endpoint: ("reload-" + $id),
		  security: {mode: "psk", identity: $id, key_hex: $k}, lifetime: 60,
		  use_connection_id: true, request_timeout_ms: 3000,
		  handshake_timeout_ms: {min: 500, max: 2000}} + (if $sni == "" then {} else {sni: $sni} end)'
}

# once CONFIG: a fresh shim connects and registers (under an endpoint name
# of its own, so that session 1's registration is not replaced); prints the
# two replies.
once() {
	local conf
	conf=$(jq -c '.endpoint += "-once-\(now | floor)"' <<<"$1")
	printf '%s\n' '{"cmd":"configure","id":1,"config":'"$conf"'}' '{"cmd":"connect","id":2}' \
		'{"cmd":"register","id":3}' '{"cmd":"quit","id":4}' |
		timeout 20 "$SHIM" 2>/dev/null | grep '"event":"reply"' | jq -c 'select(.id == 2 or .id == 3)'
}
connected() { # OUTPUT: connect and register both ok
	[ "$(jq -s 'map(select(.ok == true)) | length' <<<"$1")" = 2 ] || {
		echo "shim replies: $1"
		return 1
	}
}
refused() { # OUTPUT: connect failed
	[ "$(jq -s '.[0].ok' <<<"$1")" = false ] || {
		echo "shim replies: $1"
		return 1
	}
}

# The long-lived session: a shim coprocess; s1 ID JSON prints its reply.
s1() {
	local line end=$((SECONDS + 15))
	printf '%s\n' "$2" >&"${S1[1]}"
	while [ $SECONDS -lt $end ] && IFS= read -r -t 15 line <&"${S1[0]}"; do
		if [[ $line == *'"event":"reply"'* ]] && [ "$(jq -r .id <<<"$line")" = "$1" ]; then
			printf '%s\n' "$line"
			return 0
		fi
	done
	return 1
}
reply_code() { # WANT REPLY
	[ "$(jq -r '.ok' <<<"$2")" = true ] && [ "$(jq -r '.code' <<<"$2")" = "$1" ] || {
		echo "reply: $2"
		return 1
	}
}
count() { grep -c "\"event\":\"$1\"" "$EVENTS" || true; }
emu_child() { head -1 "/proc/$EMU_PID/task/$EMU_PID/children" | tr -d ' '; }
# hup: SIGHUP to the emulator, then wait for the NTH config_reloaded/_failed.
hup() {
	local want=$1 _
	kill -HUP "$(emu_child)"
	for _ in $(seq 1 100); do
		[ $(($(count config_reloaded) + $(count config_reload_failed))) -ge "$want" ] && return 0
		sleep 0.05
	done
	return 1
}

write_conf "$K1" server/localhost
if ! start_emulator --config "$CONF" >"$TMP/start.out"; then
	fail "start lwm2m-emulator with $CONF" "$(cat "$TMP/start.out")"
	finish
	exit 1
fi
pass "lwm2m-emulator on 127.0.0.1:$EMU_PORT with PSK dev, vhost a.example, server/localhost"

coproc S1 { exec timeout 90 "$SHIM" 2>"$TMP/s1.log"; }
s1 1 '{"cmd":"configure","id":1,"config":'"$(shim_conf dev "$K1")"'}' >/dev/null
r=$(s1 2 '{"cmd":"connect","id":2}') && r=$(s1 3 '{"cmd":"register","id":3}')
check "session 1 (CID, PSK dev) registers" reply_code 2.01 "${r:-no reply}"
started=$(count handshake_started)

# New credentials: another key, a new vhost, another certificate.
write_conf "$K2" server/vhost-a.test b.example
hup 1
check "SIGHUP: config_reloaded with vhosts 2 and the new certificate" expect_event \
	".event == \"config_reloaded\" and .vhosts == 2 and .certificate == \"$(sha_of server/vhost-a.test)\""
r=$(s1 4 '{"cmd":"update","id":4}')
check "session 1 survives the reload: Update -> 2.04" reply_code 2.04 "${r:-no reply}"
check "no session closed, no new handshake for session 1" test "$(count session_closed)" = 0 -a \
	"$(count handshake_started)" = "$started"
check "new vhost b.example (b-dev, new key) serves a new client" connected \
	"$(once "$(shim_conf b-dev "$K2" b.example)")"
check "  ... and the emulator picked vhost b.example" expect_event \
	'.event == "handshake_done" and .vhost == "b.example"'
check "the old key of dev is refused after the reload" refused "$(once "$(shim_conf dev "$K1")")"
out=$(printf '%s\n' '{"cmd":"configure","id":1,"config":'"$(shim_conf dev "$K2" |
	jq -c '.security = {mode: "certificate", validation: false} | .endpoint = "reload-cert"')"'}' \
	'{"cmd":"connect","id":2}' '{"cmd":"quit","id":3}' | timeout 20 "$SHIM" 2>/dev/null)
check "a certificate client is shown the new certificate (server/vhost-a.test)" expect_event \
	".event == \"handshake_done\" and .server_certificate.sha256 == \"$(sha_of server/vhost-a.test)\""

# A reload that cannot work keeps everything as it was.
jq '.certificate.cert = "/nonexistent/cert.pem"' "$CONF" >"$CONF.new" && mv "$CONF.new" "$CONF"
hup 2
check "a bad reload (missing certificate file) reports config_reload_failed" expect_event \
	'.event == "config_reload_failed"'
check "  ... and the credentials stay: dev with the new key still connects" connected \
	"$(once "$(shim_conf dev "$K2")")"

# CID settings reload as well: new handshakes follow them, while session 1
# keeps its 8-byte CID and the demux still finds it among other lengths.
jq '.certificate.cert = "'"$CERTS"'/server/vhost-a.test.chain.pem" | .dtls.cid.length = 4' "$CONF" \
	>"$CONF.new" && mv "$CONF.new" "$CONF"
started=$(count handshake_started)
hup 3
check "SIGHUP with \$.dtls.cid.length 4: config_reloaded" test "$(count config_reloaded)" = 2
r=$(s1 5 '{"cmd":"update","id":5}')
check "session 1 (8-byte CID) still works after the CID change: Update -> 2.04" \
	reply_code 2.04 "${r:-no reply}"
check "  ... without a new handshake" test "$(count handshake_started)" = "$started"
check "a new client gets a 4-byte CID" connected "$(once "$(shim_conf dev "$K2")")"
check "  ... handshake_done own_cid has 4 bytes" expect_event \
	'.event == "handshake_done" and .cid_negotiated == true and (.own_cid | length) == 8'
jq '.dtls.cid = {enabled: false} | .dtls.mtu = 1000' "$CONF" >"$CONF.new" && mv "$CONF.new" "$CONF"
hup 4
check "SIGHUP with CID off: config_reloaded" test "$(count config_reloaded)" = 3
check "  ... and the MTU change is named as needing a restart (not applied silently)" \
	expect_event '.event == "config_reloaded" and (.needs_restart | index("dtls.mtu")) != null'
check "a new client gets no CID" connected "$(once "$(shim_conf dev "$K2")")"
check "  ... handshake_done cid_negotiated false" expect_event \
	'.event == "handshake_done" and .cid_negotiated == false'
r=$(s1 6 '{"cmd":"deregister","id":6}')
check "session 1 still works: De-register -> 2.02" reply_code 2.02 "${r:-no reply}"
s1 7 '{"cmd":"quit","id":7}' >/dev/null

stop_emulator

# A SIGHUP while the config is still being read (seconds for a million PSK
# identities) must not kill the emulator: it is held and becomes a reload
# once the server is up. The config is a FIFO, so the signal provably comes
# while the emulator waits inside its config read; the reload reads the
# FIFO again and gets a second config.
hup_while_loading() {
	local fifo=$TMP/config.fifo log=$TMP/hup-load.log pid status=0
	mkfifo "$fifo" || return 1
	timeout -k 2 20 "$EMULATOR" --config "$fifo" --bind 127.0.0.1 --dtls-port 0 \
		--coap-port off --tls-port off --events - >"$log" 2>&1 &
	pid=$!
	exec 7>"$fifo" # returns once the emulator has opened it: it is in main
	kill -HUP "$pid"
	echo '{"psk": [{"identity": "first", "key_hex": "00112233"}]}' >&7
	exec 7>&-
	# The second config only once the first is read to its end (listening):
	# a writer that opened the FIFO before would join the same stream.
	for _ in $(seq 1 200); do
		grep -q '"event":"listening"' "$log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	timeout 10 bash -c 'echo "{\"psk\": [{\"identity\": \"second\", \"key_hex\": \"00112233\"},
		{\"identity\": \"third\", \"key_hex\": \"00112233\"}]}" >"$1"' _ "$fifo" || status=1
	for _ in $(seq 1 100); do
		grep -q '"event":"config_reloaded"' "$log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" || status=1
	[ "$status" = 0 ] && grep -q '"event":"config_reloaded".*"psk_identities":2' "$log" || {
		tail -5 "$log"
		return 1
	}
}
check "SIGHUP while the config loads: no death, a reload once up (2 identities)" hup_while_loading
finish
