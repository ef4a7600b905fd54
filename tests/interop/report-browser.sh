#!/usr/bin/env bash
# report.html in a real browser: one deliberately failing scenario (written
# into a temp folder, not the catalogue) is run, its report is opened with
# headless Chromium (Debian's `chromium`, from make deps); the DOM must show
# the failure (step, expected, got) and the sequence diagram with its lanes,
# and a screenshot must not be blank. The page and the picture are kept in
# results/report-browser/. Skips, saying why, when chromium is absent.
# Output: TAP-style lines; exit non-zero on failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
H=$BUILD/bin/lwm2m-harness
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
keep=$top/results/report-browser
n=0 failed=0
check() { # check DESCRIPTION COMMAND...
	n=$((n + 1))
	if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	echo "ok 1 - # SKIP chromium is not installed (make deps installs Debian's chromium;" \
		"it could not be installed here)"
	exit 0
fi

# The update expects 2.05 where the emulator answers 2.04: fails at step 3.
cat >"$work/fails-on-purpose.json" <<'EOF'
{
  "name": "report-browser-fails-on-purpose",
  "description": "Fails on purpose (tests/interop/report-browser.sh): the update expects 2.05.",
  "tags": ["report"],
  "timeout_ms": 20000,
  "emulator": {"psk": [{"identity": "dev1", "key_hex": "000102030405060708090a0b0c0d0e0f"}]},
  "client": {
    "transport": "dtls",
    "security": {"mode": "psk", "identity": "dev1", "key_hex": "000102030405060708090a0b0c0d0e0f"},
    "endpoint": "dev1", "ciphersuites": [49320], "request_timeout_ms": 4000
  },
  "steps": [
    {"client": "connect"},
    {"client": "register", "expect": {"ok": true, "code": "2.01"}},
    {"client": "update", "expect": {"ok": true, "code": "2.05"}}
  ]
}
EOF
timeout -k 5 60 "$H" run --schema "$top/scenarios/schema.json" --results "$work/results" \
	"$work/fails-on-purpose.json" >"$work/run.log" 2>&1
status=$?
sed 's/^/# /' "$work/run.log"
check "the scenario fails (exit 1)" test "$status" -eq 1
report=$work/results/latest/report.html
check "report.html was written" test -s "$report"

# browser ARGS...: headless Chromium, bounded, with a profile of its own.
browser() {
	timeout -k 5 60 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$work/profile" "$@" 2>>"$work/browser.log"
}
browser --dump-dom "file://$report" >"$work/dom.html"
check "the DOM has the failing step" grep -q 'class="where">step 3 of 3 (\$.steps\[2\], client update)' "$work/dom.html"
check "the DOM has expected and got" grep -q 'class="got">code: expected "2.05", got "2.04"' "$work/dom.html"
check "the DOM has the diagram with its three lanes" \
	grep -q '<svg class="seq".*client (shim).*network simulator.*emulator' <(tr -d '\n' <"$work/dom.html")
check "the diagram shows the handshake and the registration" \
	grep -q 'HelloVerifyRequest.*register code=2.01' <(tr -d '\n' <"$work/dom.html")
mkdir -p "$keep"
cp "$report" "$keep/report.html"
browser --window-size=1280,1400 --screenshot="$keep/report.png" "file://$report" >/dev/null
# Not blank: a real PNG of some size whose pixels are not one colour (the
# decompressed scanlines of a one-colour picture hold one or two byte values).
check "the screenshot is not blank" python3 - "$keep/report.png" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000, "not a PNG or too small"
pos, idat = 8, b""
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
raw = zlib.decompress(idat)
assert len(set(raw)) > 32, "the picture is (nearly) one colour"
EOF
[ "$failed" -eq 0 ] || sed 's/^/# browser: /' "$work/browser.log" | tail -5
echo "# report: $keep/report.html, screenshot: $keep/report.png"
exit $((failed > 0))
