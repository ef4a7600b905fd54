#!/usr/bin/env bash
# Interop: LwM2M client-initiated Bootstrap with Eclipse Wakaama's
# lwm2mclient_tinydtls (built by scripts/build-wakaama.sh) and two
# lwm2m-emulators on 127.0.0.1, as in the field: a Bootstrap-Server and a
# Device Management server, each over DTLS with PSK.
#   1. The client knows only the Bootstrap-Server (identity wak-bs):
#      handshake, Bootstrap-Request (POST /bs?ep=EP).
#   2. The Bootstrap-Server ($.bootstrap.writes) writes, in OMA TLV, the DM
#      server's Security instance /0/1 (coaps URI with the DM emulator's
#      port, PSK mode, identity wak-dm-PID, its key, short server id 123) and
#      the Server instance /1/0 (short id 123, lifetime 47, binding U), then
#      Bootstrap-Finish; every one answered 2.04.
#   3. The client registers at the DM server with those credentials: a
#      handshake with the written identity and a Register with lifetime 47.
# The client waits Wakaama's hold-off time (10 s, hard-coded in its example
# Security object) before it bootstraps, so this test takes about 15 s.
# Skipped (one "ok # SKIP" line with the reason) when the tarballs are absent.
#
# Self-test: WRONG_KEY=1 makes the Bootstrap-Server write a DM key that the
# DM server does not know: steps 1 and 2 pass, the handshake and Register at
# the DM server (step 3) must fail. WRONG_PORT=1 gives the client a wrong
# Bootstrap-Server port: every check after the emulators' start must fail.
#
# usage: tests/interop/wakaama-bootstrap.sh   (BUILD=build, EMULATOR=path)
set -euo pipefail

# shellcheck source=tests/interop/wakaama-lib.bash
source "$(dirname "$0")/wakaama-lib.bash"

BS_WAIT=25 # seconds: the 10 s hold-off, a handshake and a retransmitted request
BS_PID=

bs_cleanup() {
	if [ -n "$BS_PID" ]; then
		kill -TERM "$BS_PID" 2>/dev/null || true
		wait "$BS_PID" 2>/dev/null || true
	fi
	wak_cleanup
}
trap bs_cleanup EXIT

wak_build
pass "Wakaama lwm2mclient_tinydtls built ($WAK_BIN)"

EP=wak-bs-$$
BS_KEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
DM_KEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
DM_ID=wak-dm-$$
WRITTEN_KEY=$DM_KEY
[ "${WRONG_KEY:-0}" != 1 ] || WRITTEN_KEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')

# The DM server first (lib.bash's emulator: its events in $EVENTS), so the
# Bootstrap-Server's writes can name its port.
if ! start_emulator --tls-port off --psk "$DM_ID:$DM_KEY" >"$TMP/start.out"; then
	fail "start the DM server (lwm2m-emulator) on 127.0.0.1" "$(cat "$TMP/start.out")"
	finish
	exit 1
fi
DM_PORT=$EMU_PORT
DM_EVENTS=$EVENTS

# bs_config FILE: the Bootstrap-Server's config: TLV writes of /0/1 and /1/0.
bs_config() {
	local sec srv
	sec=$(tlv_res 0 "$(hex "coaps://127.0.0.1:$DM_PORT")")$(tlv_res 1 00)$(tlv_res 2 00)
	sec=$sec$(tlv_res 3 "$(hex "$DM_ID")")$(tlv_res 5 "$WRITTEN_KEY")$(tlv_res 10 "$(tlv_int 123)")
	srv=$(tlv_res 0 "$(tlv_int 123)")$(tlv_res 1 "$(tlv_int 47)")$(tlv_res 6 00)$(tlv_res 7 "$(hex U)")
	jq -n --arg sec "$sec" --arg srv "$srv" '{bootstrap: {writes: [
		{method: "write", path: "/0/1", format: "tlv", payload_hex: $sec},
		{method: "write", path: "/1/0", format: "tlv", payload_hex: $srv}]}}' >"$1"
}

# start_bs: the Bootstrap-Server; sets BS_PID, BS_PORT, BS_EVENTS.
start_bs() {
	BS_EVENTS=$TMP/bs-events.jsonl
	bs_config "$TMP/bs.json"
	: >"$BS_EVENTS"
	timeout "$EMU_TIMEOUT" "$EMULATOR" --config "$TMP/bs.json" --bind 127.0.0.1 --coap-port off \
		--dtls-port 0 --tls-port off --psk "wak-bs:$BS_KEY" --events "$BS_EVENTS" \
		>"$TMP/bs.log" 2>&1 &
	BS_PID=$!
	for _ in $(seq 1 100); do
		BS_PORT=$(jq -r 'select(.event == "listening" and .proto == "dtls") | .addr' \
			"$BS_EVENTS" 2>/dev/null | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -1)
		[ -n "$BS_PORT" ] && return 0
		kill -0 "$BS_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$TMP/bs.log"
	return 1
}
if ! start_bs >"$TMP/start.out"; then
	fail "start the Bootstrap-Server (lwm2m-emulator --config with bootstrap.writes)" "$(cat "$TMP/start.out")"
	finish
	exit 1
fi
pass "DM server on 127.0.0.1:$DM_PORT, Bootstrap-Server on 127.0.0.1:$BS_PORT"

CLIENT_BS_PORT=$BS_PORT
[ "${WRONG_PORT:-0}" != 1 ] || CLIENT_BS_PORT=$DM_PORT
LPORT=$(free_udp_port)
wak_start bs lwm2mclient_tinydtls -p "$CLIENT_BS_PORT" -l "$LPORT" -n "$EP" -t 60 -b \
	-i wak-bs -s "$BS_KEY"

# Step 1 and 2: the Bootstrap-Server's events.
EVENTS=$BS_EVENTS
f0=$FAILED
check "Bootstrap-Server: handshake with identity wak-bs" wait_event \
	'.event == "handshake_done" and .identity == "wak-bs"' "$BS_WAIT"
[ "$FAILED" = "$f0" ] || wak_diag bs
check "Bootstrap-Server: Bootstrap-Request of $EP from 127.0.0.1:$LPORT -> 2.04" wait_event \
	".event == \"bootstrap_request\" and .endpoint == \"$EP\" and .code == \"2.04\" and
	 .peer == \"127.0.0.1:$LPORT\""
# bs_answered PATH METHOD: the client answered that bootstrap operation 2.04
# (the response event names the same method).
bs_answered() {
	local sent
	sent=$(wait_event ".event == \"request_sent\" and .path == \"$1\" and .method == \"$2\"") || {
		echo "$sent"
		return 1
	}
	answered "$(jq -r .request <<<"$sent")" ".code == \"2.04\" and .method == \"$2\""
}
check "Bootstrap-Server: Write /0/1 (DM Security: URI, PSK $DM_ID, key, ssid 123) -> 2.04" \
	bs_answered /0/1 write
check "Bootstrap-Server: Write /1/0 (Server: ssid 123, lifetime 47, binding U) -> 2.04" \
	bs_answered /1/0 write
check "Bootstrap-Server: Bootstrap-Finish -> 2.04" bs_answered /bs bootstrap_finish

# Step 3: the DM server's events.
EVENTS=$DM_EVENTS
check "DM server: handshake with the written identity $DM_ID" wait_event \
	".event == \"handshake_done\" and .identity == \"$DM_ID\"" "$WAK_WAIT"
check "DM server: Register of $EP with identity $DM_ID and the written lifetime 47 -> 2.01" \
	wait_event ".event == \"register\" and .endpoint == \"$EP\" and .identity == \"$DM_ID\" and
		.lifetime == 47 and .code == \"2.01\"" "$WAK_WAIT"

wak_kill bs
finish
