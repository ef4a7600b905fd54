#!/usr/bin/env bash
# The scenario catalogue against avs_commons' own avs_net (D)TLS layers, driven
# through the avsnet/ host layer (docs/avsnet.md):
#   avs-mbedtls   avs_commons built with WITH_MBEDTLS (Debian's Mbed TLS 3.6)
#   avs-openssl   avs_commons built with WITH_OPENSSL (Debian's OpenSSL 3)
#   custom        AVSNET_BACKEND=custom with tests/avsnet/custom_forget_resume.c,
#                 a team's own _avs_net_create_dtls_socket that drops the
#                 resumption buffer: the resumption scenarios must catch it.
#   custom-broken tests/avsnet/custom_broken.c, a backend whose create fails,
#                 whose connect is refused or crashes: each must be a failed
#                 scenario with the reason (the signal for a crash).
# Bad input to `make layer-avsnet` (no tree, wrong version, unknown backend)
# must stop with a message naming what is wrong.
# avs_commons comes from ../shared/third_party/avs_commons-5.8.0.tar.gz
# (AVS_TARBALL=path for another), unpacked and built under $BUILD/avsnet/,
# cached. Each scenario's verdict must be the reference layer's (pass, or
# skip for a declared lack) unless tests/avsnet/expected.txt names another
# verdict for that backend and says why. One TAP line per scenario.
#
# usage: tests/avsnet/test-avsnet.sh   (BUILD=build, JOBS=2)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
BUILD=${BUILD:-build}
JOBS=${AVSNET_JOBS:-2}
TARBALL=${AVS_TARBALL:-../shared/third_party/avs_commons-5.8.0.tar.gz}
EXPECTED=tests/avsnet/expected.txt
HARNESS=$BUILD/bin/lwm2m-harness
SRC_PARENT=$BUILD/avsnet/src
n=0 failed=0

ok() {
	n=$((n + 1))
	printf 'ok %d - %s\n' "$n" "$1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	printf 'not ok %d - %s\n' "$n" "$1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | head -6 | sed 's/^/  # /'
}

if [ ! -f "$TARBALL" ]; then
	echo "ok 1 # SKIP avs_commons tarball absent: $TARBALL (set AVS_TARBALL=path)"
	exit 0
fi
[ -x "$HARNESS" ] || {
	not_ok "harness present" "$HARNESS missing: run make first"
	exit 1
}

# unpack: once per tarball (its checksum names the stamp).
unpack() {
	local sum dir
	sum=$(sha256sum "$TARBALL" | cut -c1-16)
	dir=$(tar -tzf "$TARBALL" | head -1 | cut -d/ -f1)
	SRC=$SRC_PARENT/$dir
	[ -f "$SRC_PARENT/.unpacked-$sum" ] && [ -d "$SRC" ] && return 0
	rm -rf "$SRC" && mkdir -p "$SRC_PARENT" &&
		tar -xzf "$TARBALL" -C "$SRC_PARENT" && touch "$SRC_PARENT/.unpacked-$sum"
}

# build NAME MAKE_ARGS...: one layer .so; the log explains a failure.
build() {
	local name=$1 log=$BUILD/avsnet/build-$1.log
	shift
	mkdir -p "$BUILD/avsnet"
	if make --no-print-directory -s BUILD="$BUILD" AVS_COMMONS_SRC="$SRC" "$@" \
		>"$log" 2>&1 </dev/null; then
		ok "build avs_net layer $name"
		return 0
	fi
	not_ok "build avs_net layer $name" "$(tail -6 "$log")"
	return 1
}

# run NAME SO [ARGS...]: the catalogue (or a part) with one layer; verdicts
# go to $BUILD/avsnet/verdicts-NAME as "scenario verdict".
run() {
	local name=$1 so=$2 res=results/avsnet-$1 out
	shift 2
	out=$BUILD/avsnet/run-$name.log
	timeout -k 10 400 "$HARNESS" run --jobs "$JOBS" --layer "$so" --results "$res" "$@" \
		scenarios >"$out" 2>&1 </dev/null
	if ! jq -r '.scenarios[] | "\(.name) \(.verdict)"' "$res/latest/summary.json" \
		>"$BUILD/avsnet/verdicts-$name" 2>/dev/null; then
		not_ok "$name: harness run" "$(tail -6 "$out")"
		return 1
	fi
	grep -E '^[0-9]+ passed' "$out" | sed "s/^/# $name: /"
}

# expected BACKEND SCENARIO: "verdict reason" from expected.txt, or "pass".
expected() {
	local line
	line=$(awk -v b="$1" -v s="$2" '$1 == b && $2 == s { $1 = ""; $2 = ""; print; exit }' "$EXPECTED")
	echo "${line:-  pass}"
}

# compare NAME: one TAP line per scenario, its verdict against expected.txt.
compare() {
	local name=$1 scen verdict exp want why
	while read -r scen verdict; do
		exp=$(expected "$name" "$scen")
		read -r want why <<<"$exp"
		if [ "$verdict" = "$want" ]; then
			ok "$name $scen: $verdict${why:+ (expected: $why)}"
		else
			not_ok "$name $scen: $verdict, expected $want${why:+ ($why)}" \
				"see results/avsnet-$name/latest/summary.json"
		fi
	done <"$BUILD/avsnet/verdicts-$name"
}

# The custom backend is caught when a resumption scenario that avs-mbedtls
# (the same TLS code, with the buffer) passes fails with it.
custom_caught() {
	local caught
	caught=$(join <(awk '$2 == "fail" { print $1 }' "$BUILD/avsnet/verdicts-custom" | sort) \
		<(awk '$2 == "pass" { print $1 }' "$BUILD/avsnet/verdicts-mbedtls" | sort))
	if [ -n "$caught" ]; then
		ok "custom layer caught (forgets the resumption buffer) by: $(echo $caught)"
	else
		not_ok "custom layer caught (forgets the resumption buffer)" \
			"no resumption scenario that passes with avs-mbedtls failed with it"
	fi
}

# bad_input NAME PATTERN MAKE_ARGS...: make must fail and say PATTERN.
bad_input() {
	local name=$1 pattern=$2 out
	shift 2
	if out=$(make --no-print-directory -s BUILD="$BUILD" layer-avsnet "$@" 2>&1 </dev/null); then
		not_ok "bad input refused: $name" "make succeeded"
	elif grep -q -- "$pattern" <<<"$out"; then
		ok "bad input refused: $name"
	else
		not_ok "bad input refused: $name" "$out"
	fi
}

# broken MODE PATTERN: one scenario with the broken custom backend must fail
# (harness exit status 1, not a harness error) and its reason say PATTERN.
broken() {
	local mode=$1 pattern=$2 res=results/avsnet-broken-$1 why status
	LWM2M_AVSNET_BROKEN=$mode timeout -k 10 120 "$HARNESS" run --results "$res" \
		--layer "$BUILD/avsnet/custom-broken/liblwm2m_layer_avsnet.so" \
		--name psk-register-update-deregister scenarios >/dev/null 2>&1 </dev/null
	status=$?
	why=$(jq -r '.scenarios[0] | "\(.verdict) \(.failure)"' "$res/latest/summary.json" 2>/dev/null)
	if [ "$status" -eq 1 ] && grep -q "^fail .*$pattern" <<<"$why"; then
		ok "broken custom layer ($mode) reported as a failed scenario: ${pattern}"
	else
		not_ok "broken custom layer ($mode) reported as a failed scenario" \
			"harness status $status; $why"
	fi
}

bad_input "AVS_COMMONS_SRC unset" "AVS_COMMONS_SRC is not set" AVS_COMMONS_SRC=
bad_input "AVS_COMMONS_SRC missing" "no such directory" AVS_COMMONS_SRC=/nonexistent/avs_commons
fake=$BUILD/avsnet/fake-avs_commons-4
mkdir -p "$fake/include_public/avsystem/commons"
for h in avs_net.h avs_socket.h avs_crypto_pki.h avs_crypto_psk.h; do
	: >"$fake/include_public/avsystem/commons/$h"
done
echo 'set(AVS_COMMONS_VERSION "4.10.0")' >"$fake/CMakeLists.txt"
bad_input "avs_commons 4.x" "needs 5.x" AVS_COMMONS_SRC="$fake"
bad_input "unknown backend" "not one of mbedtls, openssl, custom" \
	AVS_COMMONS_SRC="$fake" AVSNET_BACKEND=gnutls
bad_input "custom without sources" "needs AVSNET_TLS_SRCS" \
	AVS_COMMONS_SRC="$fake" AVSNET_BACKEND=custom

if ! unpack; then
	not_ok "unpack $TARBALL" "tar failed; is the tarball damaged?"
	exit 1
fi
for b in mbedtls openssl; do
	if build "$b" layer-avsnet AVSNET_BACKEND="$b" &&
		run "$b" "$BUILD/avsnet/$b/liblwm2m_layer_avsnet.so"; then
		compare "$b"
	fi
done
if build custom avsnet-inner layer-avsnet AVSNET_BACKEND=custom AVSNET_NAME=custom-forget-resume \
	AVSNET_TLS_SRCS=tests/avsnet/custom_forget_resume.c AVSNET_LIB_MBEDTLS=1 &&
	LWM2M_AVSNET_INNER=$(realpath "$BUILD/avsnet/inner/libavs_net_mbedtls_inner.so") \
		run custom "$BUILD/avsnet/custom-forget-resume/liblwm2m_layer_avsnet.so" --tag resumption &&
	[ -f "$BUILD/avsnet/verdicts-mbedtls" ]; then
	custom_caught
fi
if build custom-broken layer-avsnet AVSNET_BACKEND=custom AVSNET_NAME=custom-broken \
	AVSNET_TLS_SRCS=tests/avsnet/custom_broken.c; then
	broken create "refused the client configuration"
	broken refuse "ECONNREFUSED"
	broken crash "killed by signal 11"
fi
[ "$failed" -eq 0 ]
