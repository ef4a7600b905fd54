#!/usr/bin/env bash
# Bad scenario files are refused before anything runs, with the file and the
# line or JSON path, and exit status 2 (issue 2, "Bad input").
# Output: TAP-style lines; exit non-zero on failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
H=$BUILD/bin/lwm2m-harness
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 failed=0
check() { # check DESCRIPTION COMMAND...
	n=$((n + 1))
	if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}
good=$top/scenarios/handshake/psk-register-update-deregister.json
cp "$top/scenarios/schema.json" "$work/"

# lint FILE: runs lint on it; sets $out and $status
lint() { out=$("$H" lint --schema "$work/schema.json" "$1" 2>&1); status=$?; printf '%s\n' "$out" | sed 's/^/# /'; }

printf '{"name": "x",\n "steps": [\n' >"$work/syntax.json"
lint "$work/syntax.json"
check "invalid JSON: exit 2" test "$status" -eq 2
check "invalid JSON: names the file and the line" grep -q "syntax.json.*line 3" <<<"$out"

sed 's/"client": "connect"/"clinet": "connect"/' "$good" >"$work/step.json"
lint "$work/step.json"
check "unknown step: exit 2" test "$status" -eq 2
check "unknown step: names the JSON path of the step" grep -q 'step.json: \$\.steps\[0\]' <<<"$out"

sed 's/"emulator": {/"emulator": {"bogus_key": 1, /' "$good" >"$work/emu.json"
lint "$work/emu.json"
check "unknown emulator config key: exit 2" test "$status" -eq 2
check "unknown emulator config key: named at \$.emulator.bogus_key" \
	grep -q '\$\.emulator\.bogus_key: unknown key' <<<"$out"

sed '0,/"endpoint": "dev1",/s//"endpoint": "dev1", "after_connect": {"resumed": "sometimes"},/' "$good" >"$work/after.json"
lint "$work/after.json"
check "bad after_connect action: exit 2" test "$status" -eq 2
check "bad after_connect action: named at \$.client.after_connect.resumed" \
	grep -q 'after.json: \$\.client\.after_connect\.resumed' <<<"$out"
sed '0,/"endpoint": "dev1",/s//"endpoint": "dev1", "after_connect": {"new_session": "update"},/' "$good" >"$work/after-key.json"
lint "$work/after-key.json"
check "unknown after_connect key: exit 2" test "$status" -eq 2
sed '0,/"endpoint": "dev1",/s//"endpoint": "dev1", "after_connect": {"full_handshake": "nothing", "resumed": "update", "cid_restored": "register"},/' "$good" >"$work/after-ok.json"
lint "$work/after-ok.json"
check "every after_connect key and action is accepted" test "$status" -eq 0

sed '0,/"endpoint": "dev1",/s//"endpoint": "${server_uri}",/' "$good" >"$work/runtime.json"
lint "$work/runtime.json"
check "\${server_uri} outside \$.emulator: exit 2" test "$status" -eq 2
check "\${server_uri} outside \$.emulator: named at \$.client.endpoint" \
	grep -q 'runtime.json: \$\.client\.endpoint: \${server_uri} is known only when the scenario runs' <<<"$out"

sed 's/"emulator": {/"emulator": {"certificate": {"endpoints": [{"cn": "dev1"}]}, /' "$good" >"$work/certbind.json"
lint "$work/certbind.json"
check "certificate binding without endpoint: exit 2" test "$status" -eq 2
check "certificate binding without endpoint: named at its JSON path" \
	grep -q '\$\.emulator\.certificate\.endpoints\[0\]\.endpoint: missing' <<<"$out"

results=$work/results
"$H" run --schema "$work/schema.json" --results "$results" "$good" "$work/step.json" >/dev/null 2>&1
check "run with one invalid file: exit 2" test $? -eq 2
check "run with one invalid file: nothing was run" test ! -e "$results/latest"

lint "$good"
check "the valid scenario lints clean" test "$status" -eq 0
[ "$failed" -eq 0 ]
