#!/usr/bin/env bash
# The human face of lwm2m-client-shim (issue 4): with a terminal on stdin
# (script(1) provides one) it greets, prompts, answers `help` with every
# command, takes bare words and {...} arguments, prints readable lines
# instead of JSON, reports typos and bad arguments without exiting, and
# `quit` ends it with status 0. Without a terminal it stays JSON lines.
# No network. TAP output. Usage: tests/interop/shim-prompt.sh [BUILD_DIR]
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
SHIM=${SHIM:-$BUILD/bin/lwm2m-client-shim}
n=0 failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tap() {
	n=$((n + 1))
	if [ "$1" = OK ]; then echo "ok $n - $2"; else
		failed=$((failed + 1)); echo "not ok $n - $2"; [ -n "${3:-}" ] && echo "# $3"
	fi
}
for tool in "$SHIM" script jq; do
	command -v "$tool" >/dev/null || { echo "not ok 1 - missing $tool"; exit 1; }
done
# has NAME REGEX: the transcript matches (extended regex).
has() { grep -Eq -- "$2" "$work/tty" && tap OK "$1" || tap FAIL "$1" "$(tail -5 "$work/tty")"; }

printf '%s\n' '{"server":"127.0.0.1:9","endpoint":"dev1","security":{"mode":"psk","identity":"d","key_hex":"00"}}' >"$work/cfg.json"
{
	echo help
	echo frobnicate
	echo 'connect now'
	echo 'get_option inner_mtu'
	echo "configure $work/nonexistent.json"
	echo "configure $work/cfg.json"
	echo '{"cmd":"info","id":7}'
	echo 'idle {"ms":5}'
	echo '{"cmd":'
	echo quit
} >"$work/in"
timeout 30 script -qec "$SHIM" /dev/null <"$work/in" >"$work/raw" 2>&1
status=$?
tr -d '\r' <"$work/raw" >"$work/tty"
[ "$status" = 0 ] && tap OK "quit at the prompt exits 0" || tap FAIL "quit at the prompt exits 0" "status $status"
has "greets with the layer and a hint" '^lwm2m-client-shim \(layer mbedtls-[^)]*\)\. Type help\.'
has "shows a prompt" 'shim> '
missing=
for c in configure connect register update deregister close reconnect save_resumption \
	load_resumption get_option set_option wait_request idle notify send send_datagram info help quit; do
	grep -Eq "^$c +" "$work/tty" || missing="$missing $c"
done
[ -z "$missing" ] && tap OK "help lists every command" || tap FAIL "help lists every command" "missing:$missing"
has "a typo is named, and the prompt goes on" 'error: unknown command "frobnicate"'
has "a word where none fits is explained" 'error: connect takes no word argument'
has "a bare word becomes the argument (get_option inner_mtu)" 'reply cmd="get_option" ok=false .*not configured'
has "a missing config file is named" "error: $work/nonexistent.json"
has "configure FILE reads the config from the file" 'reply cmd="configure" ok=true'
has "JSON lines work at the prompt too, readable output" 'reply cmd="info" id=7 ok=true .*configured=true'
has "{...} arguments after a command" 'reply cmd="idle" ok=true'
has "broken JSON at the prompt is an error line" '^(shim> )?error: .*(end of file|unexpected)'
has "quit answers before exiting" 'reply cmd="quit" ok=true'
grep -q '"event":"reply"' "$work/tty" && tap FAIL "no JSON on a terminal" "$(grep -m1 '"event"' "$work/tty")" ||
	tap OK "no JSON on a terminal"
printf '%s\n' help '{"cmd":"help","id":1}' | timeout 10 "$SHIM" >"$work/pipe" 2>"$work/pipe.err"
jq -e -s 'map(select(.event=="reply" and .id==1)) | length==1 and (.[0].help|test("send_datagram"))' "$work/pipe" >/dev/null &&
	tap OK "without a terminal, help is a JSON reply" || tap FAIL "without a terminal, help is a JSON reply" "$(head -3 "$work/pipe")"
jq -e -s 'map(select(.event=="reply" and (has("id")|not))) | length==1 and (.[0].ok|not) and .[0].error=="EINVAL"' "$work/pipe" >/dev/null &&
	tap OK "without a terminal, a bare word is an EINVAL JSON reply" ||
	tap FAIL "without a terminal, a bare word is an EINVAL JSON reply" "$(head -3 "$work/pipe")"
echo "# $n tests, $failed failed"
[ "$failed" -eq 0 ]
