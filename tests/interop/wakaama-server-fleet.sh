#!/usr/bin/env bash
# Interop: lwm2m-load's plain-CoAP fleet (--auth none: NoSec, one UDP socket
# per device, no DTLS) against a real third-party LwM2M server, Eclipse
# Wakaama's example lwm2mserver (built by scripts/build-wakaama.sh, cached
# under build/), on 127.0.0.1 (lwm2mserver binds 0.0.0.0:PORT; the fleet is
# pointed at the literal 127.0.0.1). The server is driven by commands typed
# on its stdin (a FIFO this script holds open) and judged by what it prints:
#   - every device registers: N "New client #K registered." lines, with the
#     fleet's endpoint names P0..P(N-1) and lifetime, as many as the fleet's
#     ops.register.count;
#   - Updates: Wakaama's "Client #K updated." lines = the fleet's
#     ops.update.count;
#   - `read K /3/0/0`: 2.05, TLV (Wakaama asks LwM2M 1.0 clients for TLV)
#     decoded by Wakaama to resource 0 = "fleet-IDX-SEQ" of that device;
#   - `disc K /3/0`: 2.05 link format listing </3/0/0>;
#   - `observe K /3/0/0` (answered in TLV), then the device's NON
#     notifications (one per turn, TLV), `cancel K /3/0/0` (Wakaama's GET
#     with Observe 1): Wakaama's "Notify from client #K /3/0/0 number S"
#     lines with S > 0 (the answer to the Observe itself is printed as
#     number 0) = the fleet's counts.notifies, none after the cancel's
#     answer; counts.observes = counts.cancels = 1, counts.reads = 2 (the
#     Read and the Discover);
#   - the fleet's errors.total = 0 and status "ok";
#   - bad input: --auth none with an option that needs DTLS (--resume,
#     --psk-identities, --hostname) exits 2 naming the option.
# Counts are compared once the fleet has exited and Wakaama has printed
# everything it was sent: no check depends on timing except bounded waits.
# A CoAP retransmission (an answer later than 2 s on a loaded machine) makes
# Wakaama see a request twice: the Register and Update counts are then
# allowed up to counts.retransmits more.
# Skipped (one "ok # SKIP" line with the reason) when the tarballs are absent.
#
# Wakaama requires the Register's lwm2m= parameter (LwM2M 1.1 Core, the
# Register operation: the LwM2M version is mandatory); without it every
# Register is answered 4.00 and every check after the server's start fails.
#
# Self-test (each seen failing): a device that ignores Accept (serve_get()
# in bench/fl_dev.c choosing the format as if no Accept came) answers the
# Read and the Observe in text/plain and the Discover in TLV: Wakaama prints
# "9 bytes received of type text/plain:" (Read, Observe) and
# "application/vnd.oma.lwm2m+tlv:" (Discover), and those three checks fail.
# A device that ignores Observe 1 (Wakaama's cancel) notifies once more:
# Wakaama no longer knows the token, Resets it without printing, and the
# notification count check fails (Wakaama printed 1, the fleet sent 2).
#
# usage: tests/interop/wakaama-server-fleet.sh   (BUILD=build, LOAD=path)
set -euo pipefail

# shellcheck source=tests/interop/wakaama-lib.bash
source "$(dirname "$0")/wakaama-lib.bash"

LOAD=${LOAD:-$BUILD/bin/lwm2m-load}
N=20            # devices
DURATION=10     # seconds of fleet run: long enough for the typed commands
UPDATE_RATE=10  # turns/s fleet-wide: each device's turn every N/UPDATE_RATE = 2 s
LIFETIME=300    # registration lifetime the fleet asks for
EPP=wf$$-       # endpoint names wf<pid>-0 ...
SRV=$TMP/srv.out
FLEET_JSON=$TMP/fleet.json

wak_build
pass "Wakaama lwm2mserver built ($WAK_BIN)"
if [ ! -x "$LOAD" ]; then
	fail "lwm2m-load built" "$LOAD not built: run 'make build/bin/lwm2m-load' (or set LOAD=path)"
	finish
	exit 1
fi

# --- bad input: --auth none with options that need DTLS ----------------------
# bad_opt OPT ARGS...: exits 2 with a lwm2m-load: line naming OPT (a run
# that started anyway is bounded: 1 s against a port nothing listens on).
bad_opt() {
	local opt=$1 out rc=0
	shift
	out=$(timeout 10 "$LOAD" --auth none --server 127.0.0.1 --port "$(free_udp_port)" \
		--devices 1 --duration 1 --no-progress "$@" 2>&1) || rc=$?
	if [ "$rc" -ne 2 ]; then
		echo "exit $rc, want 2; output:"
		tail -4 <<<"$out"
		return 1
	fi
	grep -q "^lwm2m-load: .*$opt" <<<"$out" || {
		echo "no lwm2m-load: message naming $opt:"
		tail -4 <<<"$out"
		return 1
	}
}
check "bad input: --auth none --resume 50 -> exit 2 naming --resume" bad_opt --resume --resume 50
check "bad input: --auth none --psk-identities 3 -> exit 2 naming --psk-identities" \
	bad_opt --psk-identities --psk-identities 3
check "bad input: --auth none --hostname x -> exit 2 naming --hostname" bad_opt --hostname --hostname x

# --- Wakaama's lwm2mserver ---------------------------------------------------
# srv_start PORT: lwm2mserver on IPv4 (-4) port PORT, stdin a FIFO held
# open (at EOF it would spin on stdin), stdout line-buffered to $SRV;
# killed on exit with the Wakaama clients (wak_cleanup).
srv_start() {
	local fd
	rm -f "$TMP/srv.in"
	mkfifo "$TMP/srv.in"
	timeout -k 2 "$WAK_CLIENT_TIMEOUT" stdbuf -oL "$WAK_BIN/lwm2mserver" -4 -l "$1" \
		<"$TMP/srv.in" >"$SRV" 2>"$TMP/srv.err" &
	WAK_PID[srv]=$!
	exec {fd}>"$TMP/srv.in"
	WAK_FD[srv]=$fd
}

# srv_text: the server's output so far, without its CRs.
srv_text() { tr -d '\r' <"$SRV"; }

# srv_count REGEX: lines of the server's output matching REGEX.
srv_count() { srv_text | grep -cE "$1" || true; }

# srv_prefixed TEXT: lines of the server's output starting with TEXT.
srv_prefixed() { srv_text | awk -v h="$1" 'index($0, h) == 1 { n++ } END { print n + 0 }'; }

# srv_wait REGEX N [SECONDS] [COUNTER]: at least N lines match within
# SECONDS (5); COUNTER (srv_count, or srv_prefixed for a literal) counts.
srv_wait() {
	local n=0 deadline=$(($(date +%s%N) + ${3:-5} * 1000000000))
	while :; do
		n=$("${4:-srv_count}" "$1")
		[ "$n" -ge "$2" ] && return 0
		[ "$(date +%s%N)" -lt "$deadline" ] || break
		sleep 0.05
	done
	echo "lwm2mserver printed $n lines matching '$1' within ${3:-5} s, want $2; its last output:"
	srv_text | tail -6 | awk 1 # (the last line, a prompt, has no newline)
	return 1
}

# srv_listening PORT: lwm2mserver holds UDP PORT and printed its prompt.
srv_listening() {
	for _ in $(seq 1 100); do
		[ -n "$(ss -Hua "( sport = :$1 )" 2>/dev/null)" ] && [ -s "$SRV" ] && return 0
		kill -0 "${WAK_PID[srv]}" 2>/dev/null || break
		sleep 0.05
	done
	echo "lwm2mserver is not listening on UDP $1; it said:"
	tail -c 400 "$TMP/srv.err"
	return 1
}

# srv_block HEADER: the server's output from the line starting with HEADER
# (the last such) up to its next prompt.
srv_block() {
	srv_text | awk -v h="$1" 'index($0, h) == 1 { b = ""; on = 1 }
		on { b = b $0 "\n" } on && /^> / { on = 0 } END { printf "%s", b }'
}

# clients: "K NAME LIFETIME" of each registration Wakaama announced.
clients() {
	srv_text | awk '/^New client #[0-9]+ registered\.$/ { k = substr($3, 2); want = 1; next }
		want && /^\tname: "/ { n = $0; sub(/^\tname: "/, "", n); sub(/"$/, "", n); next }
		want && /^\tlifetime: / { print k, n, $2; want = 0 }'
}

PORT=$(free_udp_port)
srv_start "$PORT"
check "lwm2mserver listening on UDP $PORT" srv_listening "$PORT"

# --- the fleet ---------------------------------------------------------------
timeout -k 2 $((DURATION + 20)) "$LOAD" --auth none --server 127.0.0.1 --port "$PORT" \
	--devices "$N" --duration "$DURATION" --update-rate "$UPDATE_RATE" --lifetime "$LIFETIME" \
	--ep-prefix "$EPP" --json "$FLEET_JSON" --no-progress >"$TMP/load.out" 2>"$TMP/load.err" &
LOAD_PID=$!
fleet_cleanup() {
	if [ -n "$LOAD_PID" ]; then
		kill -TERM "$LOAD_PID" 2>/dev/null || true
		wait "$LOAD_PID" 2>/dev/null || true
	fi
	wak_cleanup
}
trap fleet_cleanup EXIT

# all_registered: N registrations announced, one per endpoint P0..P(N-1),
# each with the fleet's lifetime.
all_registered() {
	local want got
	srv_wait '^New client #[0-9]+ registered\.$' "$N" 10 || {
		echo "lwm2m-load said:"
		grep -v '^|' "$TMP/load.err" | head -3
		return 1
	}
	want=$(for ((i = 0; i < N; i++)); do echo "$EPP$i $LIFETIME"; done | sort)
	got=$(clients | cut -d' ' -f2,3 | sort -u)
	[ "$want" = "$got" ] && return 0
	echo "registered endpoints/lifetimes differ from the fleet's (want < got >):"
	diff <(echo "$want") <(echo "$got") | grep '^[<>]' | head -6
	return 1
}
check "fleet: $N devices registered in Wakaama (endpoints $EPP{0..$((N - 1))}, lifetime $LIFETIME)" \
	all_registered
# The device typed at: the first registered, its client number and index.
read -r K NAME _ < <(clients | head -1) || true
K=${K:-0} NAME=${NAME:-none}
IDX=${NAME#"$EPP"}

# cmd_block LINE HEADER: types LINE, waits for its answer (a block starting
# with HEADER, up to the prompt after it) and prints it.
cmd_block() {
	local n
	n=$(srv_prefixed "$2")
	wak_cmd srv "$1"
	srv_wait "$2" $((n + 1)) 5 srv_prefixed >/dev/null || {
		echo "no answer to '$1' (a line starting '$2') within 5 s; the server's last output:"
		srv_text | tail -6 | awk 1 # (the last line, a prompt, has no newline)
		return 1
	}
	srv_block_whole "$2"
}

# srv_block_whole HEADER: srv_block once it is whole (Wakaama writes a
# block line by line and ends it with a prompt): up to 1 s.
srv_block_whole() {
	for _ in $(seq 1 20); do
		srv_block "$1" | grep -q '^> ' && break
		sleep 0.05
	done
	srv_block "$1"
}

# tlv_value WHAT BLOCK: BLOCK (Wakaama's print of a payload) is a TLV
# resource 0 holding the device's value.
tlv_value() {
	grep -q 'bytes received of type application/vnd.oma.lwm2m+tlv:' <<<"$2" &&
		grep -q 'ID: 0 type: Resource Value' <<<"$2" &&
		grep -qE " fleet-$IDX-[0-9]+\$" <<<"$2" && return 0
	echo "$1 is not TLV resource 0 = fleet-$IDX-SEQ; Wakaama printed:"
	head -8 <<<"$2"
	return 1
}

# read_tlv: `read K /3/0/0` -> 2.05, TLV decoded by Wakaama to resource 0
# holding the device's value.
read_tlv() {
	local b
	b=$(cmd_block "read $K /3/0/0" "Client #$K /3/0/0 : ") || {
		echo "$b"
		return 1
	}
	grep -q "^Client #$K /3/0/0 : 2.05 " <<<"$b" || {
		echo "want 2.05; Wakaama printed:"
		head -4 <<<"$b"
		return 1
	}
	tlv_value "the answer" "$b"
}
check "Wakaama: read $K /3/0/0 ($NAME) -> 2.05, TLV resource 0 = fleet-$IDX-SEQ decoded" read_tlv

# discover: `disc K /3/0` -> 2.05 link format listing </3/0/0>.
discover() {
	local b
	b=$(cmd_block "disc $K /3/0" "Client #$K /3/0 : ") || {
		echo "$b"
		return 1
	}
	grep -q "^Client #$K /3/0 : 2.05 " <<<"$b" &&
		grep -q 'bytes received of type application/link-format:' <<<"$b" &&
		grep -q '</3/0/0>' <<<"$b" && return 0
	echo "want 2.05 link format listing </3/0/0>; Wakaama printed:"
	head -6 <<<"$b"
	return 1
}
check "Wakaama: disc $K /3/0 -> 2.05 link format listing </3/0/0>" discover

NOTIFY="^Notify from client #$K /3/0/0 number"
# observe: `observe K /3/0/0` -> the answer (Wakaama prints it as number
# 0) in TLV with the value, then a notification, TLV too, on the device's
# next turn (its period is N/UPDATE_RATE s).
observe() {
	local b
	b=$(cmd_block "observe $K /3/0/0" "${NOTIFY#^} 0") || {
		echo "$b"
		return 1
	}
	tlv_value "the Observe's answer" "$b" || return 1
	srv_wait "$NOTIFY [1-9][0-9]*\$" 1 $((2 * N / UPDATE_RATE + 3)) || return 1
	tlv_value "the notification" "$(srv_block_whole "${NOTIFY#^} ")"
}
check "Wakaama: observe $K /3/0/0 -> TLV answer, then a TLV notification from the device" observe

# cancel: `cancel K /3/0/0` (GET with Observe 1) -> 2.05 answer, which
# Wakaama prints with status 0.00; it then forgets the observation.
cancel() {
	local b
	b=$(cmd_block "cancel $K /3/0/0" "Client #$K /3/0/0 : 0.00 ") || {
		echo "$b"
		return 1
	}
}
check "Wakaama: cancel $K /3/0/0 -> answered (Wakaama prints 0.00: its cancel succeeded)" cancel

# --- after the fleet's run: its JSON against what Wakaama printed ------------
# (waited for here: check runs its command in a subshell, which cannot wait)
LOAD_RC=0
wait "$LOAD_PID" || LOAD_RC=$?
LOAD_PID=
fleet_done() {
	[ -s "$FLEET_JSON" ] && [ "$LOAD_RC" -eq 0 ] && return 0
	echo "lwm2m-load exited $LOAD_RC (0: nothing failed)$([ -s "$FLEET_JSON" ] || echo ", no JSON")"
	tail -5 "$TMP/load.err"
	return 1
}
check "fleet: lwm2m-load ran ${DURATION} s and exited 0 with its JSON" fleet_done
jf() { jq -r "$1" "$FLEET_JSON" 2>/dev/null || echo -1; }
RETX=$(jf .counts.retransmits)
[ "$RETX" -ge 0 ] 2>/dev/null || RETX=0

check "fleet: errors.total 0, status ok" \
	jq -e '.errors.total == 0 and .status == "ok" and .counts.registered == '"$N" "$FLEET_JSON"

# counted WHAT REGEX FLEET_COUNT: Wakaama's lines matching REGEX number
# FLEET_COUNT, up to RETX more (a retransmitted request is seen twice);
# waited for, since Wakaama may still be printing the last ones.
counted() {
	local n want=$3
	srv_wait "$2" "$want" 3 >/dev/null || true
	n=$(srv_count "$2")
	[ "$want" -ge 1 ] && [ "$n" -ge "$want" ] && [ "$n" -le $((want + RETX)) ] && return 0
	echo "$1: Wakaama printed $n, the fleet counted $want (retransmissions $RETX; want >= 1)"
	return 1
}
check "Register: Wakaama's 'New client' lines = the fleet's ops.register.count ($(jf .ops.register.count))" \
	counted register '^New client #[0-9]+ registered\.$' "$(jf .ops.register.count)"
check "Update: Wakaama's 'Client #K updated.' lines = the fleet's ops.update.count ($(jf .ops.update.count))" \
	counted update '^Client #[0-9]+ updated\.$' "$(jf .ops.update.count)"

# notified: Wakaama's notifications (number > 0) of the observed device =
# the fleet's counts.notifies (only that device was observed); none printed
# after the cancel's answer; one Observe, one cancel, two reads (the Read
# and the Discover typed), none refused.
notified() {
	local n want after
	want=$(jf .counts.notifies)
	srv_wait "$NOTIFY [1-9][0-9]*\$" "$want" 3 >/dev/null || true
	n=$(srv_count "$NOTIFY [1-9][0-9]*\$")
	after=$(srv_text | awk -v h="Client #$K /3/0/0 : 0.00 " -v nt="Notify from client #$K " \
		'index($0, h) == 1 { c = 1 } c && index($0, nt) == 1 { n++ } END { print n + 0 }')
	if [ "$want" -lt 1 ] || [ "$n" -ne "$want" ] || [ "$after" -ne 0 ]; then
		echo "Wakaama printed $n notifications ($after after the cancel), the fleet sent $want"
		return 1
	fi
	jq -e '.counts.observes == 1 and .counts.cancels == 1 and .counts.reads == 2 and
		.counts.refused_reads == 0' \
		"$FLEET_JSON" >/dev/null || {
		echo "fleet counts: $(jq -c .counts "$FLEET_JSON")"
		return 1
	}
}
check "Observe: Wakaama's notifications = the fleet's counts.notifies, none after the cancel" notified

wak_kill srv
finish
