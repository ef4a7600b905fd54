#!/usr/bin/env bash
# Flood and abuse checks of lwm2m-emulator (issue 7, item 4), on loopback only
# and bounded in count and time (well under 90 s):
#   (a) ABUSE_HELLOS (100000) spoofed ClientHellos from thousands of
#       127.x.y.z:port sources with cookies on: only hello_verify_sent, no
#       handshake_started, no session in `ctl status`, VmRSS flat
#   (b) bytes received / bytes sent before address validation, measured on
#       the wire per source, with cookies on and off: never above 3x
#   (c) 10000 garbage, truncated and bad-MAC records carrying a live CID
#       session's CID (from other sources): the session survives and the
#       real client shim's next Update gets 2.04
#   (d) the control socket is mode 0600 and refuses another user
# Prints TAP lines with the measured numbers as "# " comments; exit 1 on any
# failure. Self-test: ABUSE_COOKIES=off makes (a) fail (sessions allocated).
#
# usage: tests/abuse/test-abuse.sh   (BUILD=build; make abuse builds first)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
BUILD=${BUILD:-build}
EMU=$BUILD/bin/lwm2m-emulator
SHIM=$BUILD/bin/lwm2m-client-shim
FLOOD=$BUILD/tests/abuse_flood
HELLOS=${ABUSE_HELLOS:-100000}
COOKIES=${ABUSE_COOKIES:-on}
RSS_SLACK_KB=${ABUSE_RSS_SLACK_KB:-1024} # allowed VmRSS growth over the flood
GARBAGE=${ABUSE_GARBAGE:-10000}
AMP_SOURCES=200
AMP_WAIT_MS=3500 # the handshake timer starts at 1 s: two retransmissions fit
KEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
TMP=$(mktemp -d "${TMPDIR:-/tmp}/abuse.XXXXXX")
N=0 FAILED=0
declare -A EMU_PIDS=()

cleanup() {
	local p
	[ -z "${SHIM_PID:-}" ] || kill "$SHIM_PID" 2>/dev/null
	for p in "${EMU_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() {
	N=$((N + 1))
	echo "ok $N - $1"
}
notok() {
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
}
# check COND_STATUS NAME: ok or not ok by the status of the previous test.
check() {
	if [ "$1" -eq 0 ]; then ok "$2"; else notok "$2"; fi
}
note() { echo "# $*"; }

for f in "$EMU" "$SHIM" "$FLOOD"; do
	[ -x "$f" ] || {
		notok "$f is built (run: make abuse)"
		exit 1
	}
done

# start_emu NAME ARGS...: an emulator on 127.0.0.1 with a free DTLS port,
# JSON events in $TMP/NAME.jsonl and a control socket $TMP/NAME.sock (or
# where --control says). Sets PORT; EMU_PIDS[NAME] is its pid.
start_emu() {
	local name=$1 _
	shift
	: >"$TMP/$name.jsonl"
	timeout 120 "$EMU" --bind 127.0.0.1 --coap-port off --dtls-port 0 \
		--events "$TMP/$name.jsonl" "$@" >/dev/null 2>"$TMP/$name.log" &
	EMU_PIDS[$name]=$!
	for _ in $(seq 1 100); do
		PORT=$(sed -n 's/.*"event":"listening","proto":"dtls","addr":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' \
			"$TMP/$name.jsonl" | head -1)
		[ -n "$PORT" ] && return 0
		sleep 0.05
	done
	note "emulator $name did not start: $(tail -3 "$TMP/$name.log")"
	return 1
}
stop_emu() {
	kill -TERM "${EMU_PIDS[$1]}" 2>/dev/null && wait "${EMU_PIDS[$1]}" 2>/dev/null
	unset "EMU_PIDS[$1]"
}
# emu_pid NAME: the emulator itself (EMU_PIDS holds its `timeout` wrapper).
emu_pid() { head -1 "/proc/${EMU_PIDS[$1]}/task/${EMU_PIDS[$1]}/children" | tr -d ' '; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# count NAME EVENT: how many EVENT lines the emulator NAME wrote.
count() { grep -c "\"event\":\"$2\"" "$TMP/$1.jsonl"; }
# field LINE KEY: a numeric key=value from abuse_flood's output.
field() { sed -n "s/.*\\b$2=\\([0-9.]*\\).*/\\1/p" <<<"$1" | head -1; }
ctl_status() { "$EMU" ctl --control "$TMP/$1.sock" status; }

# (a) ---------------------------------------------------------------------
flood_hellos() {
	local pid before after st sessions hvr started out
	if [ "$COOKIES" = off ] && [ "$HELLOS" -gt 3000 ]; then
		HELLOS=3000 # each becomes a session: keep the self-test's memory bounded
	fi
	start_emu a --cookies "$COOKIES" --control "$TMP/a.sock" || {
		notok "(a) emulator with cookies $COOKIES starts"
		return
	}
	pid=$(emu_pid a)
	note "(a) emulator pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-60)...)"
	# Warm-up: first-use allocations (jansson, cookie HMAC) are not growth.
	"$FLOOD" hello "$PORT" 2000 200 >/dev/null
	before=$(rss_kb "$pid")
	out=$("$FLOOD" hello "$PORT" "$HELLOS" 500)
	sleep 0.2
	after=$(rss_kb "$pid")
	st=$(ctl_status a)
	sessions=$(jq -r .sessions <<<"$st")
	hvr=$(count a hello_verify_sent)
	started=$(count a handshake_started)
	note "(a) cookies $COOKIES: $out"
	note "(a) emulator: hello_verify_sent=$hvr handshake_started=$started status.sessions=$sessions" \
		"counters=$(jq -c .counters <<<"$st")"
	note "(a) VmRSS before=${before} kB after=${after} kB growth=$((after - before)) kB" \
		"(limit ${RSS_SLACK_KB} kB)"
	[ "$sessions" = 0 ] && [ "$started" -eq 0 ] && [ "$hvr" -ge $(((HELLOS + 2000) * 95 / 100)) ]
	check $? "(a) $HELLOS spoofed ClientHellos from $(field "$out" sources) sources: no session, only HelloVerifyRequests"
	[ -n "$before" ] && [ -n "$after" ] && [ $((after - before)) -le "$RSS_SLACK_KB" ]
	check $? "(a) emulator VmRSS flat over the flood (${before} -> ${after} kB)"
	stop_emu a
}

# (b) ---------------------------------------------------------------------
# amplification NAME COOKIES: one ClientHello from each of AMP_SOURCES new
# sources, everything that came back within AMP_WAIT_MS.
amplification() {
	local name=$1 cookies=$2 out sent recv ratio max held
	start_emu "$name" --cookies "$cookies" --control "$TMP/$name.sock" || {
		notok "(b) emulator with cookies $cookies starts"
		return
	}
	out=$("$FLOOD" amp "$PORT" "$AMP_SOURCES" "$AMP_WAIT_MS")
	sent=$(field "$out" sent_bytes)
	recv=$(field "$out" recv_bytes)
	max=$(field "$out" max_source_ratio)
	held=$(ctl_status "$name" | jq -r .counters.bytes_held)
	ratio=$(awk -v r="$recv" -v s="$sent" 'BEGIN { printf "%.3f", s ? r / s : 0 }')
	note "(b) cookies $cookies: sent ${sent} B, received ${recv} B, ratio ${ratio}," \
		"worst source ${max}, held back by the emulator ${held} B," \
		"handshakes started $(count "$name" handshake_started)"
	# An emulator that answers nothing would pass the ratio: it must answer.
	[ "${sent:-0}" -gt 0 ] && [ "${recv:-0}" -gt 0 ] && awk -v m="$max" 'BEGIN { exit !(m <= 3.0) }'
	check $? "(b) cookies $cookies: the emulator answers, no source gets more than 3x its bytes back (worst ${max}x)"
	stop_emu "$name"
}

# (c) ---------------------------------------------------------------------
# shim_cmd ID JSON: sends one command to the shim and prints its reply line.
shim_cmd() {
	local id=$1 line end=$((SECONDS + 15))
	printf '%s\n' "$2" >&"${SHIM[1]}"
	while [ $SECONDS -lt $end ] && IFS= read -r -t 15 line <&"${SHIM[0]}"; do
		if [[ $line == *'"event":"reply"'* ]] && [ "$(jq -r .id <<<"$line")" = "$id" ]; then
			printf '%s\n' "$line"
			return 0
		fi
	done
	return 1
}

garbage_into_session() {
	local conf r cid loc st before_closed before_in out
	start_emu c --cid 8 --psk "abuse-dev:$KEY" --control "$TMP/c.sock" || {
		notok "(c) emulator with CID starts"
		return
	}
	coproc SHIM { exec timeout 60 "$SHIM" 2>"$TMP/shim.log"; }
	conf='{"server":"127.0.0.1:'$PORT'","transport":"dtls","security":{"mode":"psk",'
	conf+='"identity":"abuse-dev","key_hex":"'$KEY'"},"endpoint":"abuse-ep","lifetime":60,'
	conf+='"use_connection_id":true,"request_timeout_ms":3000}'
	shim_cmd 1 '{"cmd":"configure","id":1,"config":'"$conf"'}' >/dev/null &&
		r=$(shim_cmd 2 '{"cmd":"connect","id":2}') && [ "$(jq -r .ok <<<"$r")" = true ]
	check $? "(c) client shim connects with a Connection ID"
	cid=$(jq -r '.cid.peer // empty' <<<"${r:-null}")
	r=$(shim_cmd 3 '{"cmd":"register","id":3}')
	loc=$(jq -r '.location // empty' <<<"$r")
	[ -n "$cid" ] && [ -n "$loc" ]
	check $? "(c) registered at ${loc:-?} over the CID session (server CID ${cid:-none})"
	[ -n "$cid" ] || return
	before_closed=$(count c session_closed)
	before_in=$(ctl_status c | jq .counters.datagrams_in)
	out=$("$FLOOD" garbage "$PORT" "$cid" "$GARBAGE")
	sleep 0.3
	st=$(ctl_status c)
	note "(c) $out"
	note "(c) emulator: datagrams_in +$(($(jq .counters.datagrams_in <<<"$st") - before_in))" \
		"records_dropped=$(jq .counters.records_dropped <<<"$st")" \
		"sessions=$(jq .sessions <<<"$st") session_closed=$(count c session_closed)" \
		"peer_address_changed=$(count c peer_address_changed)"
	[ "$(jq .sessions <<<"$st")" = 1 ] && [ "$(count c session_closed)" -eq "$before_closed" ] &&
		[ "$(count c peer_address_changed)" -eq 0 ]
	check $? "(c) the CID session survives $GARBAGE garbage/bad-MAC records, peer unchanged"
	r=$(shim_cmd 4 '{"cmd":"update","id":4}')
	note "(c) update reply: $r"
	[ "$(jq -r .ok <<<"$r")" = true ] && [ "$(jq -r .code <<<"$r")" = 2.04 ] &&
		grep -q '"event":"update".*"code":"2.04"' "$TMP/c.jsonl" &&
		[ "$(count c handshake_started)" -eq 1 ]
	check $? "(c) the next Update gets 2.04 on the same session (no new handshake)"
	spoofed_from_peer
	shim_cmd 5 '{"cmd":"quit","id":5}' >/dev/null
	SHIM_PID=
	stop_emu c
}

# (c, spoofed) Unauthenticated datagrams claiming the session's own peer
# address (raw socket, root only): DTLS must discard them (RFC 6347 §4.1.2.7),
# so the session lives on and the next Update still gets 2.04.
spoofed_from_peer() {
	local peer sport out r
	peer=$(jq -r 'select(.event == "handshake_done") | .peer' "$TMP/c.jsonl" | tail -1)
	sport=${peer##*:}
	if [ "$(id -u)" -ne 0 ] || [ -z "$sport" ]; then
		note "(c) skipped the spoofed-source check (needs root for a raw socket)"
		return
	fi
	out=$("$FLOOD" spoof "$PORT" "$sport" "${ABUSE_SPOOFED:-100}")
	sleep 0.3
	note "(c) spoofed from $peer: $out; emulator session_closed=$(count c session_closed):" \
		"$(grep '"event":"session_closed"' "$TMP/c.jsonl" | jq -c '{session, reason}' | head -1)"
	r=$(shim_cmd 40 '{"cmd":"update","id":40}')
	[ "$(ctl_status c | jq .sessions)" = 1 ] && [ "$(count c session_closed)" -eq 0 ] &&
		[ "$(jq -r .ok <<<"$r")" = true ]
	check $? "(c) the session survives unauthenticated datagrams spoofed from its own peer address and the next Update gets 2.04"
}

# (d) ---------------------------------------------------------------------
control_socket_private() {
	local dir mode
	dir=$(mktemp -d "${TMPDIR:-/tmp}/abuse-ctl.XXXXXX")
	chmod 0755 "$dir" # only the socket's own mode may keep others out
	start_emu d --control "$dir/ctl.sock" || {
		notok "(d) emulator with a control socket starts"
		rm -rf "$dir"
		return
	}
	mode=$(stat -c %a "$dir/ctl.sock")
	note "(d) control socket $dir/ctl.sock mode $mode owner $(stat -c %U "$dir/ctl.sock")"
	[ "$mode" = 600 ] && "$EMU" ctl --control "$dir/ctl.sock" status >/dev/null
	check $? "(d) control socket is mode 0600 and answers its owner"
	if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null && id nobody >/dev/null 2>&1 &&
		runuser -u nobody -- test -x "$EMU"; then
		! runuser -u nobody -- "$EMU" ctl --control "$dir/ctl.sock" status >/dev/null 2>&1
		check $? "(d) another user (nobody) cannot use the control socket"
	else
		note "(d) skipped the other-user check (needs root, runuser and a nobody-readable build)"
	fi
	stop_emu d
	rm -rf "$dir"
}

start=$SECONDS
flood_hellos
amplification b-on on
amplification b-off off
garbage_into_session
control_socket_private
note "$((N - FAILED)) passed, $FAILED failed in $((SECONDS - start)) s"
[ "$FAILED" -eq 0 ]
