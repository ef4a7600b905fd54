#!/usr/bin/env bash
# lwm2m-load against a server that is not at 127.0.0.1 (not a benchmark:
# nothing here is timed). The fleet mode must reach an LwM2M server at any
# address its user gives, as the issue asks, not only one on IPv4 loopback:
#  - IPv6: lwm2m-emulator bound to ::1; devices over DTLS with CID (idle
#    ones in the pool), without CID, and over plain CoAP (--auth none);
#  - another host: lwm2m-emulator in a network namespace this test makes
#    (a veth pair on 198.18.N.0/24, RFC 2544's benchmarking range, inside
#    this machine), reached from the host's side, the source address picked
#    by the kernel's route, then given with --src;
#  - bad input, all refused before anything is sent (exit 2, the message
#    says why): a source of the other family, a loopback source for a server
#    elsewhere, --per-addr where there is one source address, a source this
#    host does not have.
# Every count is checked against the emulator's events: registrations by
# endpoint, the peer address the server saw (its family, the veth address),
# Updates. It fails when the fleet opens IPv4 sockets whatever the server
# (fl_net.c udp_open with socket(AF_INET, ...): 'IPv6, DTLS with CID' is
# `not ok`, tried) and when pool answers are matched as IPv4 only
# (fl_addr_equal without its IPv6 branch: the IPv6 CID devices' Registers
# go unanswered, `not ok`, tried).
# The namespace part skips, saying why, where namespaces cannot be made.
#
# usage: tests/interop/fleet-addr.sh   (BUILD=build, EMULATOR=path; as root)
set -euo pipefail

# shellcheck source=tests/interop/lib.bash
source "$(dirname "$0")/lib.bash"

LOAD=$BUILD/bin/lwm2m-load
JSON=$TMP/fleet.json
NS=lwm2m-fl$$
HV=flh$$
NV=fln$$
SUB=$(($$ % 250 + 1))
HOST_IP=198.18.$SUB.1
NS_IP=198.18.$SUB.2
NS_PID=
NS_MADE=

if [ ! -x "$LOAD" ]; then
	fail "lwm2m-load built" "$LOAD missing: run 'make unit-tests-bin' or 'make bench-build'"
	finish
	exit 1
fi

addr_cleanup() {
	[ -z "$NS_PID" ] || kill "$NS_PID" 2>/dev/null || true
	[ -z "$NS_PID" ] || wait "$NS_PID" 2>/dev/null || true
	if [ -n "$NS_MADE" ]; then
		ip netns del "$NS" 2>/dev/null || true
		ip link del "$HV" 2>/dev/null || true
	fi
	interop_cleanup
}
trap addr_cleanup EXIT

jf() { jq -r "$1" "$JSON" 2>/dev/null; }
# events FILE FILTER: how many of the emulator's events in FILE match.
events() { jq -c "select($2)" "$1" 2>/dev/null | wc -l; }

# listen_port FILE PROTO: the port of the emulator's listening event.
listen_port() {
	local _ p
	for _ in $(seq 1 100); do
		p=$(jq -r "select(.event == \"listening\" and .proto == \"$2\") | .addr" "$1" \
			2>/dev/null | sed -n 's/^.*:\([0-9]*\)$/\1/p' | head -1)
		[ -n "$p" ] && echo "$p" && return 0
		sleep 0.05
	done
	return 1
}

# fleet NAME EVENTS EP N ARGS...: a bounded run of N devices named EP0..;
# passes when it exits 0 without error and the emulator saw every one
# register (a failure is counted; the script goes on).
fleet() {
	local name=$1 ev=$2 ep=$3 n=$4 status=0 regs
	shift 4
	timeout 90 "$LOAD" --devices "$n" --rate 200 --duration 40 --steady 2 --update-rate 40 \
		--ep-prefix "$ep" --no-progress --json "$JSON" "$@" >"$TMP/$ep.out" 2>&1 ||
		status=$?
	regs=$(jq -r 'select(.event == "register") | .endpoint' "$ev" 2>/dev/null |
		grep -c "^${ep}[0-9]*\$" || true)
	if [ "$status" = 0 ] && [ "$(jf .errors.total)" = 0 ] &&
		[ "$(jf .counts.registered)" = "$n" ] && [ "$regs" = "$n" ]; then
		pass "$name: $n devices registered (emulator: $regs), $(jf .ops.update.count) Updates"
		return 0
	fi
	fail "$name" "exit $status, emulator register events $regs; $(cat "$TMP/$ep.out")"
}

# peers EVENTS EP PATTERN: every register event of EP* came from an
# address matching PATTERN, and Updates were seen.
peers() {
	local bad
	bad=$(jq -r "select(.event == \"register\" and (.endpoint | startswith(\"$2\"))) | .peer" \
		"$1" | grep -cv -- "$3" || true)
	[ "$bad" = 0 ] && [ "$(events "$1" ".event == \"update\" and (.endpoint | startswith(\"$2\"))")" -gt 0 ] &&
		return 0
	echo "peers not matching $3: $bad; first: $(jq -r 'select(.event == "register") | .peer' "$1" | head -3)"
	return 1
}

# --- IPv6: the emulator on ::1 ---
# The IPv6 part (a function: skipped as a whole where the host has no ::1).
ipv6_part() {
	: >"$EVENTS"
	timeout "$EMU_TIMEOUT" "$EMULATOR" --bind ::1 --dtls-port 0 --coap-port 0 --tls-port off \
		--cid 8 --events "$EVENTS" >"$TMP/emulator.log" 2>&1 &
	EMU_PID=$!
	if ! DTLS6=$(listen_port "$EVENTS" dtls) || ! COAP6=$(listen_port "$EVENTS" coap); then
		fail "lwm2m-emulator on ::1" "$(cat "$TMP/emulator.log")"
		finish
		exit 1
	fi
	pass "lwm2m-emulator on [::1]:$DTLS6 (DTLS) and [::1]:$COAP6 (CoAP)"
	fleet "IPv6, DTLS with CID" "$EVENTS" v6cid- 40 --server ::1 --port "$DTLS6"
	check "  ... the server saw every device from [::1], Updates through the CID pool" \
		peers "$EVENTS" v6cid- '^\[::1\]:'
	check "  ... the JSON names the server [::1]:$DTLS6" test "$(jf .server)" = "[::1]:$DTLS6"
	fleet "IPv6, DTLS without CID" "$EVENTS" v6nocid- 20 --server '[::1]' --port "$DTLS6" --no-cid
	fleet "IPv6, plain CoAP (--auth none)" "$EVENTS" v6nosec- 20 --server ::1 --port "$COAP6" \
		--auth none
	check "  ... from [::1] too" peers "$EVENTS" v6nosec- '^\[::1\]:'
	check "an IPv4 --src for an IPv6 server: exit 2, says which family" \
		load_refuses --server ::1 --port "$DTLS6" --devices 5 --src 127.1.0.1 "is an IPv4 address"
	check "--per-addr with one source address: exit 2" \
		load_refuses --server ::1 --port "$DTLS6" --devices 5 --per-addr 100 "applies only"
	check "a --src that is not an address: exit 2" \
		load_refuses --server ::1 --port "$DTLS6" --devices 5 --src ::zz "not a numeric"
	stop_emulator
}
if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/'; then
	ipv6_part
else
	pass "# SKIP the IPv6 part: this host has no ::1 (IPv6 is off)"
fi

# --- another host: the emulator in a network namespace ---
if ! out=$(ip netns add "$NS" 2>&1); then
	pass "# SKIP a server in another network namespace: cannot make one here ($out)"
	finish
	exit
fi
NS_MADE=1
if ! out=$( (ip link add "$HV" type veth peer name "$NV" &&
	ip link set "$NV" netns "$NS" &&
	ip addr add "$HOST_IP/24" dev "$HV" && ip link set "$HV" up &&
	ip -n "$NS" addr add "$NS_IP/24" dev "$NV" && ip -n "$NS" link set "$NV" up &&
	ip -n "$NS" link set lo up) 2>&1); then
	fail "veth pair $HV-$NV ($HOST_IP - $NS_IP)" "$out"
	finish
	exit 1
fi
EV2=$TMP/ns-events.jsonl
: >"$EV2"
ip netns exec "$NS" timeout "$EMU_TIMEOUT" "$EMULATOR" --bind "$NS_IP" --dtls-port 0 \
	--coap-port 0 --tls-port off --cid 8 --events "$EV2" >"$TMP/ns-emulator.log" 2>&1 &
NS_PID=$!
if ! DTLS4=$(listen_port "$EV2" dtls) || ! COAP4=$(listen_port "$EV2" coap); then
	fail "lwm2m-emulator in namespace $NS on $NS_IP" "$(cat "$TMP/ns-emulator.log")"
	finish
	exit 1
fi
pass "lwm2m-emulator in namespace $NS on $NS_IP:$DTLS4 (DTLS), :$COAP4 (CoAP)"
fleet "fleet over 198.18.$SUB.0/24, DTLS with CID, source picked by the route" "$EV2" nscid- 40 \
	--server "$NS_IP" --port "$DTLS4"
check "  ... the server saw every device from $HOST_IP" peers "$EV2" nscid- "^$HOST_IP:"
fleet "  ... without CID, --src $HOST_IP" "$EV2" nsnocid- 20 --server "$NS_IP" --port "$DTLS4" \
	--no-cid --src "$HOST_IP"
fleet "  ... plain CoAP (--auth none)" "$EV2" nsnosec- 20 --server "$NS_IP" --port "$COAP4" \
	--auth none
check "  ... from $HOST_IP" peers "$EV2" nsnosec- "^$HOST_IP:"
check "a loopback --src for that server: exit 2, says nothing from it would arrive" \
	load_refuses --server "$NS_IP" --port "$DTLS4" --devices 5 --src 127.1.0.1 "is a loopback address"
check "a --src this host does not have: exit 2, before any device starts" \
	load_refuses --server "$NS_IP" --port "$DTLS4" --devices 5 --src 198.18.$SUB.9 "cannot send to"
finish
