#!/usr/bin/env bash
# First use: every program answers --help and --version wherever they are
# on the command line (exit 0, on stdout); a run says when it started, in
# UTC; its JSON durations are rounded to microseconds; on a terminal the
# progress line names the scenarios running (the terminal is `script`'s).
# Output: TAP-style lines; exit non-zero on failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 failed=0
check() { # check DESCRIPTION COMMAND...
	n=$((n + 1))
	if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}
# answers WHAT PATTERN CMD...: CMD exits 0 and prints PATTERN on stdout.
answers() {
	local out
	out=$(timeout -k 2 10 "${@:3}" 2>/dev/null) && grep -q -- "$2" <<<"$out"
}
S=$BUILD/bin/lwm2m-client-shim E=$BUILD/bin/lwm2m-emulator H=$BUILD/bin/lwm2m-harness
check "shim --version" answers v '^lwm2m-client-shim [0-9]' "$S" --version
check "shim --version after other flags" answers v '^lwm2m-client-shim [0-9]' "$S" --layer /nonexistent.so --version
check "shim --help after a bad flag" answers h '^usage: lwm2m-client-shim' "$S" --bogus --help
check "shim -h" answers h '^usage: lwm2m-client-shim' "$S" -h
check "emulator --version" answers v '^lwm2m-emulator [0-9]' "$E" --version
check "emulator --help" answers h '^usage: lwm2m-emulator' "$E" --help
check "harness --version" answers v '^lwm2m-harness [0-9]' "$H" --version
check "harness run --version" answers v '^lwm2m-harness [0-9]' "$H" run --version
check "harness run --help" answers h '^usage: lwm2m-harness' "$H" run --help

scn=$top/scenarios/handshake/psk-register-update-deregister.json
script -qec "timeout -k 5 60 '$H' run --results '$work/results' '$scn'" /dev/null >"$work/tty.log" 2>&1
tr '\r' '\n' <"$work/tty.log" | sed 's/\x1b\[K//g' >"$work/lines.log"
sed 's/^/# /' "$work/lines.log" | grep -v '^# *$' | head -6
check "a run says when it started, in UTC" \
	grep -qE '^started [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC: 1 scenario run' "$work/lines.log"
check "the progress line names the scenario running" \
	grep -q 'running: psk-register-update-deregister' "$work/lines.log"
check "the run passed" grep -q '^1 passed, 0 failed' "$work/lines.log"
# Durations: at most 6 decimals (no 0.081234000000000006).
durations() { grep -ho '"duration_s": *[0-9.e+-]*' "$@"; }
check "summary.json and result.json have durations" test "$(durations "$work/results/latest/summary.json" "$work"/results/latest/*/result.json | wc -l)" -ge 3
check "... each rounded to microseconds" \
	test -z "$(durations "$work/results/latest/summary.json" "$work"/results/latest/*/result.json | grep -vE ': *[0-9]+(\.[0-9]{1,6})?$')"
exit $((failed > 0))
