# Shared helpers for tests/interop/wakaama-*.sh (sourced, not run: the test
# runner runs every tests/interop/*.sh, so this file must not end in .sh).
#
# Provides, on top of lib.bash (TAP lines, an emulator on 127.0.0.1 with its
# JSON events in $EVENTS): Eclipse Wakaama's example clients built from the
# third-party tarballs (scripts/build-wakaama.sh, cached under build/), a
# skip when those tarballs are absent, Wakaama clients run with their stdin
# held open (at EOF on stdin lwm2mclient spins), emulator control requests
# and bounded waits on events. Every child is killed on exit.

# shellcheck source=tests/interop/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

WAK_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WAK_BIN=
WAK_WAIT=${WAK_WAIT:-10}       # seconds a first Register (handshake, retransmission) may take
WAK_CLIENT_TIMEOUT=${WAK_CLIENT_TIMEOUT:-80} # seconds any Wakaama client may run
CTL=$TMP/ctl.sock
declare -A WAK_PID WAK_FD

wak_cleanup() {
	local name
	for name in "${!WAK_PID[@]}"; do wak_kill "$name"; done
	interop_cleanup
}
trap wak_cleanup EXIT

# wak_build: builds (or finds cached) Wakaama's examples and sets WAK_BIN.
# Without the tarballs: one TAP skip line with the reason, and exit 0.
wak_build() {
	local out rc=0
	out=$(bash "$WAK_TOP/scripts/build-wakaama.sh" "$BUILD" 2>"$TMP/build.err") || rc=$?
	if [ "$rc" -eq 3 ]; then
		echo "ok 1 # SKIP Wakaama interop: $out"
		exit 0
	fi
	if [ "$rc" -ne 0 ]; then
		fail "build Wakaama's examples (lwm2mclient, lwm2mclient_tinydtls, lwm2mserver)" "$(cat "$TMP/build.err")"
		finish
		exit 1
	fi
	WAK_BIN=$(tail -1 <<<"$out")
}

# shellcheck source=tests/ports.bash
source "$WAK_TOP/tests/ports.bash"
# free_udp_port: a port no socket on this machine holds, on any address and
# connected or not (Wakaama binds 0.0.0.0:PORT, so a connected loopback
# socket on that port is in the way too), below the ephemeral range so that
# no connect() takes it meanwhile, and picked by no other running test
# (tests/ports.bash; the old 10000-32000 range also met bench_load's parked
# clients at 10000+).
free_udp_port() { free_ports 1; }

# wak_start NAME PROGRAM ARGS...: a Wakaama client on IPv4 loopback (it
# defaults to IPv6) whose stdin is a FIFO this shell keeps open, so that
# commands can be typed to it (wak_cmd); output (line-buffered, so it can
# be polled) in $TMP/NAME.out/.err.
wak_start() {
	local name=$1 prog=$2 fd
	shift 2
	rm -f "$TMP/$name.in"
	mkfifo "$TMP/$name.in"
	timeout -k 2 "$WAK_CLIENT_TIMEOUT" stdbuf -oL "$WAK_BIN/$prog" -4 -h 127.0.0.1 "$@" \
		<"$TMP/$name.in" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	WAK_PID[$name]=$!
	exec {fd}>"$TMP/$name.in"
	WAK_FD[$name]=$fd
}

# wak_cmd NAME LINE: types LINE at the client's prompt.
wak_cmd() {
	printf '%s\n' "$2" >&"${WAK_FD[$1]}"
}

# wak_close_stdin NAME: closes the client's stdin FIFO (once).
wak_close_stdin() {
	local fd=${WAK_FD[$1]:-}
	[ -n "$fd" ] || return 0
	exec {fd}>&-
	WAK_FD[$1]=
}

# wak_kill NAME: SIGTERM, which timeout(1) passes on and Wakaama does not
# catch (only SIGINT): the client dies at once without a De-register, like a
# device losing power. Then reaped; its exit status goes to WAK_STATUS.
wak_kill() {
	local name=$1
	WAK_STATUS=0
	wak_close_stdin "$name"
	[ -n "${WAK_PID[$name]:-}" ] || return 0
	kill -TERM "${WAK_PID[$name]}" 2>/dev/null || true
	wait "${WAK_PID[$name]}" || WAK_STATUS=$?
	unset "WAK_PID[$name]" "WAK_FD[$name]"
}

# wak_quit NAME: `quit` (De-register, then exit) and reap within 5 s. The
# exit status is not counted: lwm2mclient_tinydtls of this Wakaama version
# crashes in its connection teardown (use after free), which is only noted,
# and bash's own crash notice is kept out of the TAP output.
wak_quit() {
	local name=$1
	wak_cmd "$name" quit
	wak_close_stdin "$name"
	{
		for _ in $(seq 1 100); do
			kill -0 "${WAK_PID[$name]}" || break
			sleep 0.05
		done
		wak_kill "$name"
	} 2>/dev/null
	if [ "$WAK_STATUS" -gt 128 ] && [ "$WAK_STATUS" -ne 143 ]; then
		echo "# note: $name died of signal $((WAK_STATUS - 128)) after quit (not counted)"
	fi
}

# wait_event JQ_CONDITION [SECONDS]: prints the last event matching within
# SECONDS (default 5); on a timeout says what was expected and seen last.
wait_event() {
	local cond=$1 secs=${2:-5} ev deadline
	deadline=$(($(date +%s%N) + secs * 1000000000))
	while :; do
		ev=$(jq -c "select($cond)" "$EVENTS" 2>/dev/null | tail -1)
		[ -n "$ev" ] && {
			echo "$ev"
			return 0
		}
		[ "$(date +%s%N)" -lt "$deadline" ] || break
		sleep 0.05
	done
	echo "no emulator event within ${secs} s matching: $cond; the last events were:"
	tail -3 "$EVENTS" | cut -c1-400
	return 1
}

# ctl_request EP METHOD PATH [key=value...]: a server-initiated request
# through the control socket; prints its id ("" when refused).
ctl_request() {
	local ep=$1 m=$2 p=$3
	shift 3
	"$EMULATOR" ctl --control "$CTL" --no-wait request endpoint="$ep" method="$m" path="$p" "$@" 2>&1 |
		jq -r '.request // empty' 2>/dev/null || true
}

# answered ID JQ_CONDITION: the response to request ID arrives within 5 s
# and matches the condition; prints why not.
answered() {
	local ev
	ev=$(wait_event ".event == \"response_received\" and .request == ${1:-0}") || {
		echo "$ev"
		return 1
	}
	jq -e "$2" >/dev/null <<<"$ev" && return 0
	echo "response does not match: $2"
	echo "got: $(cut -c1-600 <<<"$ev")"
	return 1
}

# OMA TLV (LwM2M 1.1 §7.4.3), enough for Bootstrap-Write payloads:
# tlv_res ID HEX: a resource with an 8-bit id and a value under 256 bytes.
tlv_res() {
	local id=$1 val=$2 len=$((${#2} / 2))
	if [ "$len" -lt 8 ]; then
		printf '%02x%02x%s' $((0xc0 | len)) "$id" "$val"
	else
		printf 'c8%02x%02x%s' "$id" "$len" "$val"
	fi
}
# tlv_int N: the value bytes of a non-negative integer below 32768.
tlv_int() {
	if [ "$1" -lt 128 ]; then printf '%02x' "$1"; else printf '%04x' "$1"; fi
}

# wak_diag NAME: the client's last words as TAP comments (after a failed
# first check, to tell a client that never started from one that got no answer).
wak_diag() {
	{
		echo "client $1 (exit: $(kill -0 "${WAK_PID[$1]:-0}" 2>/dev/null && echo running || echo gone)):"
		tail -c 400 "$TMP/$1.out" 2>/dev/null | tr -d '\r' | tail -3
		tail -c 600 "$TMP/$1.err" 2>/dev/null | tr -d '\r' | tail -4
	} | sed 's/^/  # /'
}
