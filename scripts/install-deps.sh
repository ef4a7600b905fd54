#!/usr/bin/env bash
# Installs what the build, the tests and the interop peers need, and nothing
# that is already there. Idempotent: a second run does no apt work at all.
#
# Mbed TLS: bookworm ships 2.28 without DTLS Connection ID (RFC 9146). When the
# installed Mbed TLS lacks it, Debian trixie is added as an apt source pinned at
# 100 for everything and 990 for exactly the four Mbed TLS packages, so nothing
# else is ever taken from trixie.
set -euo pipefail

# libxml2-dev: OMA DDF object models (server/emu_ddf.c, --models).
# gnuplot-nox: bench/fleet-plot.sh (docs/fleet-scaling.svg).
# libmicrohttpd-dev: the emulator's HTTP API and dashboard (--http).
# cmake, libssl-dev: avs_commons (its Mbed TLS and OpenSSL avs_net) for tests/avsnet/.
# faketime (libfaketime): scenarios with "time_warp" run every process sped up
# (docs/time-warp.md).
# valgrind: make bench's instruction counts per handshake (callgrind; its
# header lets bench_bound count only its server's work).
PKGS=(build-essential pkg-config cmake libssl-dev libcoap3-dev libcoap3-bin libjansson-dev
      libpcap-dev libcmocka-dev tshark openssl uthash-dev jq iproute2
      clang-14 libclang-rt-14-dev libcbor-dev libxml2-dev libmicrohttpd-dev gnuplot-nox faketime
      valgrind)
# Optional: headless Chromium for tests/interop/report-browser.sh (report.html
# in a real browser); that test skips, saying why, when it cannot be installed.
OPTIONAL_PKGS=(chromium)
MBEDTLS_PKGS=(libmbedtls-dev libmbedtls21 libmbedcrypto16 libmbedx509-7)
TRIXIE_LIST=/etc/apt/sources.list.d/lwm2m-harness-trixie.list
TRIXIE_PIN=/etc/apt/preferences.d/lwm2m-harness-mbedtls

log() { printf 'deps: %s\n' "$*" >&2; }

# True when the installed Mbed TLS headers are 3.6+ and have CID enabled.
mbedtls_has_cid() {
	local dir=/usr/include/mbedtls
	[ -f "$dir/build_info.h" ] || return 1
	grep -Eq '#define MBEDTLS_VERSION_NUMBER +0x03(0[6-9]|[1-9])' "$dir/build_info.h" || return 1
	grep -Eq '^#define MBEDTLS_SSL_DTLS_CONNECTION_ID( |$)' "$dir/mbedtls_config.h" || return 1
}

missing_pkgs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
	done
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		log "missing packages: $*"
		log "run 'sudo make deps' (or scripts/install-deps.sh as root) once"
		exit 1
	fi
}

APT_UPDATED=0
apt_update() {
	[ "$APT_UPDATED" = 1 ] && return 0
	log "apt-get update"
	apt-get update -qq
	APT_UPDATED=1
}

add_trixie_pin() {
	[ -f "$TRIXIE_LIST" ] && [ -f "$TRIXIE_PIN" ] && return 0
	log "adding Debian trixie (pinned) for Mbed TLS 3.6 only"
	echo 'deb http://deb.debian.org/debian trixie main' >"$TRIXIE_LIST"
	cat >"$TRIXIE_PIN" <<'PIN'
# lwm2m-harness: take only Mbed TLS 3.6 (with DTLS Connection ID) from trixie.
Package: *
Pin: release n=trixie
Pin-Priority: 100

Package: libmbedtls-dev libmbedtls21 libmbedcrypto16 libmbedx509-7
Pin: release n=trixie
Pin-Priority: 990
PIN
	APT_UPDATED=0
}

# install_optional: what is optional and missing, best effort: a mirror
# without chromium leaves the browser test skipped, never the build broken.
install_optional() {
	local missing
	missing=$(echo $(missing_pkgs "${OPTIONAL_PKGS[@]}"))
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		log "optional packages missing (browser test will skip): $missing"
		return 0
	fi
	apt_update || true
	log "installing (optional): $missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing ||
		log "could not install $missing: tests/interop/report-browser.sh will skip"
}

main() {
	local missing
	missing=$(missing_pkgs "${PKGS[@]}")
	if ! mbedtls_has_cid; then
		need_root "Mbed TLS 3.6 with CID"
		add_trixie_pin
		missing="$missing ${MBEDTLS_PKGS[*]}"
	fi
	missing=$(echo $missing)
	if [ -z "$missing" ]; then
		install_optional
		log "all dependencies present"
		return 0
	fi
	need_root "$missing"
	apt_update
	log "installing: $missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
	mbedtls_has_cid || { log "Mbed TLS with CID still missing after install"; exit 1; }
	install_optional
	log "done"
}

main "$@"
