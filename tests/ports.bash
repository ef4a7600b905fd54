# Port numbers for tests that must name a port before a peer binds it
# (libcoap's servers, Wakaama's clients, a port with nothing on it). Sourced.
#
# make test runs several tests at once, so "free in ss(8) now" is not enough:
# two tests could both see a port free and both bind it. Every test picks
# through free_ports, which holds one lock while it checks ss and records the
# pick in a shared folder with the test's pid; a pick stays taken while that
# test runs. Ports are from 20000-32767: below the ephemeral range (32768+,
# where connect() and port 0 take theirs) and above bench_load's parked
# clients (10000 + index).
# shellcheck shell=bash

PORTS_DIR=${TMPDIR:-/tmp}/lwm2m-test-ports

# free_ports COUNT [STEP]: prints P, the first of COUNT consecutive ports
# (P a multiple of STEP, default 1) that no socket holds (TCP or UDP, any
# address, connected ones included) and no running test has picked; they
# are this test's ($$) until it exits. Exit 1 when none is found.
free_ports() {
	local count=$1 step=${2:-1} fd p i rc=1
	mkdir -p "$PORTS_DIR" 2>/dev/null || return 1
	exec {fd}>"$PORTS_DIR/.lock" || return 1
	if flock -w 20 "$fd"; then
		for _ in $(seq 1 100); do
			p=$(((20000 + RANDOM % (12700 - count)) / step * step))
			for ((i = 0; i < count; i++)); do
				ports_taken $((p + i)) && continue 2
			done
			for ((i = 0; i < count; i++)); do echo $$ >"$PORTS_DIR/$((p + i))"; done
			echo "$p"
			rc=0
			break
		done
	fi
	exec {fd}>&-
	return $rc
}

# ports_taken PORT: whether a socket holds PORT or a running test picked it
# (the record of a test that has exited is stale and dropped).
ports_taken() {
	local pid
	[ -z "$(ss -Htuan "( sport = :$1 )" 2>/dev/null)" ] || return 0
	pid=$(cat "$PORTS_DIR/$1" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$pid" != $$ ] && kill -0 "$pid" 2>/dev/null && return 0
	rm -f "$PORTS_DIR/$1"
	return 1
}
