#!/usr/bin/env bash
# Builds the avs_net pieces of an avs_commons source tree with CMake, for one
# (D)TLS backend, into OUT (under build/). Only what avs_net needs is built
# (no tests, no HTTP/sched/URL/...). Cached: a second run with the same tree,
# backend and options does nothing.
#   avsnet/build-avs-commons.sh SRC OUT BACKEND     BACKEND: mbedtls|openssl|custom
# Prints nothing on success but the CMake/make logs' location on failure.
set -euo pipefail
src=${1:?usage: build-avs-commons.sh SRC OUT BACKEND}
out=${2:?usage: build-avs-commons.sh SRC OUT BACKEND}
backend=${3:?usage: build-avs-commons.sh SRC OUT BACKEND}
die() {
	printf 'avsnet: %s\n' "$@" >&2
	exit 1
}
hint="point AVS_COMMONS_SRC at an unpacked avs_commons 5.x source tree (the one with CMakeLists.txt and include_public/)"

case $backend in
mbedtls) tls=(-DWITH_MBEDTLS=ON -DWITH_OPENSSL=OFF -DWITH_CUSTOM_TLS=OFF) ;;
openssl) tls=(-DWITH_MBEDTLS=OFF -DWITH_OPENSSL=ON -DWITH_CUSTOM_TLS=OFF) ;;
custom) tls=(-DWITH_MBEDTLS=OFF -DWITH_OPENSSL=OFF -DWITH_CUSTOM_TLS=ON) ;;
*) die "AVSNET_BACKEND=$backend: not one of mbedtls, openssl, custom" ;;
esac
[ -d "$src" ] || die "AVS_COMMONS_SRC=$src: no such directory" "$hint"
[ -f "$src/CMakeLists.txt" ] || die "AVS_COMMONS_SRC=$src: no CMakeLists.txt" "$hint"
for h in avs_net.h avs_socket.h avs_crypto_pki.h avs_crypto_psk.h; do
	[ -f "$src/include_public/avsystem/commons/$h" ] ||
		die "AVS_COMMONS_SRC=$src: include_public/avsystem/commons/$h is missing" "$hint"
done
version=$(sed -n 's/^set(AVS_COMMONS_VERSION "\([0-9.]*\)")/\1/p' "$src/CMakeLists.txt" | head -1)
[ -n "$version" ] || die "AVS_COMMONS_SRC=$src: no AVS_COMMONS_VERSION in CMakeLists.txt" "$hint"
case $version in
5.*) ;;
*) die "AVS_COMMONS_SRC=$src is avs_commons $version; the layer needs 5.x (written against 5.8.0)" "$hint" ;;
esac
command -v cmake >/dev/null || die "cmake not found: run 'make deps' (scripts/install-deps.sh)"

target=avs_net_$backend
[ "$backend" = custom ] && target=avs_net_custom_tls
opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWITH_TEST=OFF -DWITH_AVS_UNIT=OFF
	-DWITH_AVS_HTTP=OFF -DWITH_AVS_SCHED=OFF -DWITH_AVS_URL=OFF -DWITH_AVS_RBTREE=OFF
	-DWITH_AVS_VECTOR=OFF -DWITH_AVS_ALGORITHM=OFF -DWITH_PIC=ON -DWITH_POISONING=OFF
	"${tls[@]}")
[ -n "${MBEDTLS_PREFIX:-}" ] && opts+=(-DMBEDTLS_ROOT_DIR="$MBEDTLS_PREFIX")

src_abs=$(cd "$src" && pwd)
key="$src_abs|$version|$backend|${opts[*]}"
mkdir -p "$out"
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$key" ] && [ -f "$out/libs" ]; then
	exit 0 # cached
fi
rm -f "$out/stamp"
if ! (cd "$out" && cmake "$src_abs" "${opts[@]}") >"$out/cmake.log" 2>&1; then
	tail -20 "$out/cmake.log" >&2
	die "CMake failed on $src_abs (backend $backend); full log: $out/cmake.log"
fi
if ! nice make -C "$out" -j"${JOBS:-2}" "$target" >"$out/make.log" 2>&1; then
	grep -E 'error|Error' "$out/make.log" | head -20 >&2
	die "building $target from $src_abs failed; full log: $out/make.log"
fi
# The archives in link order: the backend's net and crypto first (avs_net_nosec
# defines the same socket functions and must never be picked).
lib=$out/output/lib
crypto=avs_crypto_$backend
[ "$backend" = custom ] && crypto=avs_crypto_generic
{
	echo "$lib/lib$target.a"
	echo "$lib/lib$crypto.a"
	for a in "$lib"/libavs_*.a; do
		case $(basename "$a") in libavs_net_*|libavs_crypto_*) ;; *) echo "$a" ;; esac
	done
} >"$out/libs"
for a in $(cat "$out/libs"); do
	[ -f "$a" ] || die "expected $a after the build; see $out/make.log"
done
echo "$key" >"$out/stamp"
