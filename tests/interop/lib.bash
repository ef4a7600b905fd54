# Shared helpers for tests/interop/*.sh (sourced, not run: scripts/run-tests.sh
# runs every tests/interop/*.sh, so this file must not end in .sh).
#
# Provides: TAP-style check lines, an emulator on 127.0.0.1 with a free DTLS
# port whose JSON events are read back, and a bounded coap-client runner that
# extracts the response code and Location-Path.

BUILD=${BUILD:-build}
EMULATOR=${EMULATOR:-$BUILD/bin/lwm2m-emulator}
PEER_TIMEOUT=${PEER_TIMEOUT:-15} # seconds any one coap-client may run
EMU_TIMEOUT=${EMU_TIMEOUT:-120}  # seconds the emulator may run at most

PASSED=0
FAILED=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/interop.XXXXXX")
EMU_PID=
EMU_PORT=
EVENTS=$TMP/emulator-events.jsonl

interop_cleanup() {
	stop_emulator
	rm -rf "$TMP"
}
trap interop_cleanup EXIT

pass() {
	printf 'ok - %s\n' "$1"
	PASSED=$((PASSED + 1))
}
fail() {
	printf 'not ok - %s\n' "$1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | head -8 | sed 's/^/  # /'
	FAILED=$((FAILED + 1))
}
# check NAME CMD...: pass when CMD succeeds; its output explains a failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}
finish() {
	echo "# $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# hex STRING: lower-case hex of the bytes of STRING (for --psk ID:HEX).
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# start_emulator ARGS...: lwm2m-emulator on 127.0.0.1, DTLS on a free port,
# JSON events to $EVENTS. Sets EMU_PID and EMU_PORT (from the `listening`
# event), so call it in this shell, never in $(...).
start_emulator() {
	if [ ! -x "$EMULATOR" ]; then
		echo "emulator $EMULATOR not built: run 'make' (or set EMULATOR=path)"
		return 1
	fi
	: >"$EVENTS"
	timeout "$EMU_TIMEOUT" "$EMULATOR" --bind 127.0.0.1 --coap-port off --dtls-port 0 \
		--events "$EVENTS" "$@" >"$TMP/emulator.log" 2>&1 &
	EMU_PID=$!
	local _
	for _ in $(seq 1 100); do # up to 5 s for the listening event
		EMU_PORT=$(jq -r 'select(.event == "listening" and .proto == "dtls") | .addr' \
			"$EVENTS" 2>/dev/null | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -1)
		[ -n "$EMU_PORT" ] && return 0
		if ! kill -0 "$EMU_PID" 2>/dev/null; then
			echo "emulator exited before listening:"
			cat "$TMP/emulator.log"
			EMU_PID=
			return 1
		fi
		sleep 0.05
	done
	echo "emulator printed no dtls listening event within 5 s; log:"
	cat "$TMP/emulator.log"
	return 1
}

# emulator_pid: lib.bash runs the emulator under timeout(1), and the /proc
# read must be the emulator's own: the child of $EMU_PID named lwm2m-emulator
# (found through /proc, as procps may be absent).
emulator_pid() {
	local stat pid
	for stat in /proc/[0-9]*/stat; do
		pid=${stat#/proc/}
		pid=${pid%/stat}
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lwm2m-emulator ] || continue
		# The parent is the 2nd field after the ") " that ends the name.
		[ "$(sed 's/.*) //' "$stat" 2>/dev/null | cut -d' ' -f2)" = "$EMU_PID" ] || continue
		echo "$pid"
		return 0
	done
	echo "no lwm2m-emulator child of pid $EMU_PID in /proc"
	return 1
}

stop_emulator() {
	[ -n "$EMU_PID" ] || return 0
	kill -TERM "$EMU_PID" 2>/dev/null || true
	wait "$EMU_PID" 2>/dev/null || true
	EMU_PID=
}

# coap IMPL ARGS... URI: one request with coap-client-IMPL (openssl|gnutls),
# bounded. Sets RESP_CODE ("2.01", or "" when no response came) and
# RESP_LOCATION ("/rd/abc" from the Location-Path options, or "") and keeps
# the client's output in COAP_OUT. -v 6 makes libcoap print each PDU.
coap() {
	local impl=$1 line
	shift
	COAP_OUT=$(timeout "$PEER_TIMEOUT" "coap-client-$impl" -B 5 -v 6 "$@" 2>&1) || true
	# The response is the first PDU line that is not our own request.
	line=$(grep -E '^v:1 t:(ACK|CON|NON) c:[0-9]\.[0-9][0-9] ' <<<"$COAP_OUT" | head -1) || true
	RESP_CODE=$(sed -n 's/^v:1 t:[A-Z]* c:\([0-9]\.[0-9][0-9]\) .*/\1/p' <<<"$line")
	# shellcheck disable=SC2034 # read by the scripts that source this file
	RESP_LOCATION=$(grep -o 'Location-Path:[^], ]*' <<<"$line" | sed 's/^Location-Path:/\//' | tr -d '\n') || true
}

# expect_code WANT: the last coap() got WANT.
expect_code() {
	[ "$RESP_CODE" = "$1" ] && return 0
	echo "expected CoAP $1, got '${RESP_CODE:-no response}'; coap-client said:"
	tail -6 <<<"$COAP_OUT"
	return 1
}

# expect_event JQ_CONDITION: an emulator event matching it appears within 3 s.
# Quiet on success; on failure says what was expected and what was seen.
expect_event() {
	local cond=$1 _
	for _ in $(seq 1 60); do
		[ -n "$(jq -c "select($cond)" "$EVENTS" 2>/dev/null | tail -1)" ] && return 0
		sleep 0.05
	done
	echo "no emulator event matching: $cond; the last events were:"
	tail -4 "$EVENTS"
	return 1
}

# load_refuses ARGS... PATTERN: lwm2m-load ($LOAD) with ARGS exits 2 (bad
# options, nothing sent) with a message matching PATTERN.
load_refuses() {
	local out status=0 pat=${*: -1}
	out=$(timeout 10 "$LOAD" "${@:1:$#-1}" 2>&1) || status=$?
	[ "$status" = 2 ] && grep -q -- "$pat" <<<"$out" && return 0
	echo "exit $status: $out"
	return 1
}
