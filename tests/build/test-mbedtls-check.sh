#!/usr/bin/env bash
# The build must refuse an Mbed TLS without Connection ID with one clear
# message, not a wall of compiler errors. This fetches Debian bookworm's real
# libmbedtls-dev 2.28 (no CID) and points MBEDTLS_PREFIX at it.
# Output: TAP-style lines ("ok N - ...", "not ok N - ..."); exit non-zero on failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 failed=0
check() { # check DESCRIPTION COMMAND...
	n=$((n + 1))
	if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}

(cd "$work" && apt-get download -qq libmbedtls-dev/bookworm >/dev/null 2>&1) || {
	echo "not ok 1 - could not download bookworm's libmbedtls-dev 2.28 (apt-get update first?)"
	exit 1
}
dpkg-deb -x "$work"/libmbedtls-dev_2.28*.deb "$work/root"

set +e
out=$(make -C "$top" --no-print-directory BUILD="$work/build" \
	MBEDTLS_PREFIX="$work/root/usr" all 2>&1)
status=$?
set -e
printf '%s\n' "$out" | sed 's/^/# /'

check "make stops with Mbed TLS 2.28" test "$status" -ne 0
check "message says the version is too old" grep -q 'older than 3.6' <<<"$out"
check "message says how to fix it (make deps / MBEDTLS_PREFIX)" \
	bash -c 'grep -q "make deps" <<<"$1" && grep -q MBEDTLS_PREFIX <<<"$1"' _ "$out"
check "no compiler ran on project sources" bash -c '! grep -qE "\.c:[0-9]+:[0-9]+: error" <<<"$1"' _ "$out"
check "the message is short (< 12 lines)" test "$(wc -l <<<"$out")" -lt 12
[ "$failed" -eq 0 ]
