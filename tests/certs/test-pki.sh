#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted jq programs and bash -c bodies are meant literally
# Checks the test PKI made by certs/gen-pki.sh (`make certs`): every chain
# verifies, every deliberately bad certificate is bad in exactly the intended
# way (per OpenSSL and per Mbed TLS 3.6), index.json tells the truth, and
# Debian's libcoap peers (OpenSSL and GnuTLS builds, as client and as server)
# complete DTLS handshakes with it on 127.0.0.1.
#
# usage: tests/certs/test-pki.sh [CERTS_DIR]   (default $BUILD/certs, BUILD=build)
#   PKI_CHECK=PATH   the Mbed TLS checker (default CERTS_DIR/../tests/pki-mbedtls-check,
#                    built by `make test-certs` or `make unit-tests-bin`)
#   SKIP_INTEROP=1   skip the coap-server/coap-client part (libcoap3-bin)
# Prints one TAP-style line per check ("ok - ...", "not ok - ..."); exits 1 if
# any check failed, 2 on bad usage.
set -euo pipefail

DIR=${1:-${BUILD:-build}/certs}
DIR=${DIR%/}
PKI_CHECK=${PKI_CHECK:-$(dirname "$DIR")/tests/pki-mbedtls-check}
PEER_TIMEOUT=${PEER_TIMEOUT:-10} # seconds any one peer process may live
LARGE_CHAIN_MIN=4096             # "too large for a 4 KiB Mbed TLS input buffer"

if [ ! -f "$DIR/index.json" ]; then
	echo "test-pki: $DIR/index.json not found; run 'make certs' (or certs/gen-pki.sh $DIR) first" >&2
	exit 2
fi
for tool in openssl jq timeout ss; do
	command -v "$tool" >/dev/null || {
		echo "test-pki: '$tool' not found; run 'make deps' as root" >&2
		exit 2
	}
done

IDX=$DIR/index.json
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test-pki.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

PASSED=0
FAILED=0
pass() {
	printf 'ok - %s\n' "$1"
	PASSED=$((PASSED + 1))
}
fail() {
	printf 'not ok - %s\n' "$1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | head -6 | sed 's/^/  # /'
	FAILED=$((FAILED + 1))
}
# check NAME CMD...: pass when CMD succeeds.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}

q() { jq -r "$@" "$IDX"; }                 # query the index
ids() { q ".certs[] | select($1) | .id"; } # ids matching a jq condition
# All per-certificate fields, loaded once (one jq run instead of hundreds):
# FIELD[id.name] = value; arrays (san) are joined with spaces.
declare -A FIELD
while IFS=$'\t' read -r k v; do FIELD[$k]=$v; done < <(q '.certs[] | .id as $id |
	to_entries[] | "\($id).\(.key)\t\(.value | if type == "array" then map(tostring) | join(" ") else tostring end)"')
field() { printf '%s\n' "${FIELD[$1.$2]?no field $2 for $1 in index.json}"; }

# verify ID [openssl verify options...]: the chain of ID against its trust
# anchor from the index, with the chain file's other certificates untrusted.
verify() {
	local id=$1 cert chain trust
	shift
	cert=$DIR/$(field "$id" cert)
	trust=$DIR/$(field "$id" trust)
	chain=$(field "$id" chain)
	if [ "$chain" != null ]; then
		openssl verify -CAfile "$trust" -untrusted "$DIR/$chain" "$@" "$cert"
	else
		openssl verify -CAfile "$trust" "$@" "$cert"
	fi
}
# verify_fails PATTERN ID [options]: verification must fail, for the reason
# PATTERN (so a chain that fails for some other reason does not count).
verify_fails() {
	local pattern=$1 out
	shift
	if out=$(verify "$@" 2>&1); then
		echo "verified although it should not: $out"
		return 1
	fi
	grep -q -- "$pattern" <<<"$out" || {
		echo "failed, but not with '$pattern': $out"
		return 1
	}
}
purpose_of() { # what a certificate is checked for: TLS server, client, or CA
	case $(field "$1" role) in
	server) echo sslserver ;;
	client) echo sslclient ;;
	*) echo any ;;
	esac
}

# san_checks ID: every DNS and IP SAN in the index is really in the cert.
san_checks() {
	local id=$1 s
	for s in $(field "$id" san); do
		case $s in
		DNS:*) verify "$id" -verify_hostname "${s#DNS:}" >/dev/null || {
			echo "hostname ${s#DNS:} not accepted"
			return 1
		} ;;
		IP:*) verify "$id" -verify_ip "${s#IP:}" >/dev/null || {
			echo "IP ${s#IP:} not accepted"
			return 1
		} ;;
		esac
	done
}

spki_of_cert() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1; }
spki_of_key() { openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1; }

key_matches() { [ "$(spki_of_cert "$DIR/$(field "$1" cert)")" = "$(spki_of_key "$DIR/$(field "$1" key)")" ]; }
key_mismatches() {
	local cert key
	cert=$DIR/$(field "$1" cert)
	key=$DIR/$(field "$1" key)
	! key_matches "$1" || {
		echo "certificate and key belong together"
		return 1
	}
	# A signature made with the key must not verify with the cert's key,
	# which is what the peer checks in CertificateVerify.
	echo "lwm2m-harness key-mismatch probe" >"$TMP/probe"
	openssl dgst -sha256 -sign "$key" -out "$TMP/probe.sig" "$TMP/probe"
	openssl x509 -in "$cert" -noout -pubkey >"$TMP/probe.pub"
	if openssl dgst -sha256 -verify "$TMP/probe.pub" -signature "$TMP/probe.sig" "$TMP/probe" >/dev/null 2>&1; then
		echo "a signature by the key verifies with the certificate"
		return 1
	fi
}

# fingerprints ID: index.json's hashes are those of the files.
fingerprints() {
	local id=$1 crt
	crt=$DIR/$(field "$id" cert)
	[ "$(openssl x509 -in "$crt" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)" = "$(field "$id" sha256_cert)" ] ||
		{ echo "sha256_cert differs" && return 1; }
	[ "$(spki_of_cert "$crt")" = "$(field "$id" sha256_spki)" ] ||
		{ echo "sha256_spki differs" && return 1; }
	cmp -s <(openssl x509 -in "$crt" -outform DER) "$DIR/$(field "$id" der)" ||
		{ echo "DER file differs from PEM" && return 1; }
}

# chain_bytes FILE: total DER size of the certificates in a PEM file.
chain_bytes() {
	local d=$TMP/split total=0 f
	rm -rf "$d" && mkdir -p "$d"
	awk -v d="$d" '/-BEGIN CERTIFICATE-/{n++} n{print > (d "/" n ".pem")}' "$1"
	for f in "$d"/*.pem; do
		total=$((total + $(openssl x509 -in "$f" -outform DER | wc -c)))
	done
	echo "$total"
}
large_chain_big() {
	local n
	n=$(chain_bytes "$DIR/$(field server/large-chain chain)")
	[ "$n" -gt "$LARGE_CHAIN_MIN" ] || {
		echo "chain is only $n bytes (DER)"
		return 1
	}
	echo "$n bytes"
}

key_type_is() { # ID PATTERN: the certificate's public key text matches
	openssl x509 -in "$DIR/$(field "$1" cert)" -noout -text | grep -q -- "$2" || {
		echo "key of $1 is not '$2'"
		return 1
	}
}

# ---------------------------------------------------------------------------
echo "# test PKI in $DIR (generated $(q .generated))"

check "index: every listed file exists" bash -c '
	cd "$1" && for f in $(jq -r "[.files[], (.certs[] | .files[])] | .[]" index.json); do
		[ -s "$f" ] || { echo "missing or empty: $f"; exit 1; }; done' _ "$DIR"
check "index: >= 20 certificates, default server has SAN DNS:localhost,IP:127.0.0.1,IP:::1" \
	test "$(q '[(.certs | length >= 20), (.certs["server/localhost"].san == ["DNS:localhost","IP:127.0.0.1","IP:::1"])] | all')" = true

for id in $(ids '.expect == "valid"'); do
	check "verify $id ($(purpose_of "$id"), against $(field "$id" trust))" \
		verify "$id" -purpose "$(purpose_of "$id")" -x509_strict
done
for id in $(ids '.expect == "valid" and .role == "server"'); do
	check "SANs of $id all match (-verify_hostname/-verify_ip)" san_checks "$id"
done
for id in $(q '.certs | keys[]'); do
	check "fingerprints and DER of $id match index.json" fingerprints "$id"
	if [ "$(field "$id" key)" != null ] && [ "$(field "$id" expect)" != key_mismatch ]; then
		check "key of $id matches its certificate" key_matches "$id"
	fi
done

check "server/vhost-a.test rejects hostname localhost" \
	verify_fails "hostname mismatch" server/vhost-a.test -verify_hostname localhost
check "server/vhost-b.test rejects hostname vhost-a.test" \
	verify_fails "hostname mismatch" server/vhost-b.test -verify_hostname vhost-a.test
check "server/expired: rejected as expired" verify_fails "certificate has expired" server/expired
check "server/expired: verifies at a time inside its window (only the dates are wrong)" \
	verify server/expired -attime "$(($(field server/expired not_before_epoch) + 86400))"
check "client/expired: rejected as expired" verify_fails "certificate has expired" client/expired
check "server/not-yet-valid: rejected as not yet valid" verify_fails "not yet valid" server/not-yet-valid
check "server/not-yet-valid: verifies once valid (only the dates are wrong)" \
	verify server/not-yet-valid -attime "$(($(field server/not-yet-valid not_before_epoch) + 86400))"
check "server/wrong-host: chain itself is valid" verify server/wrong-host
check "server/wrong-host: rejected for hostname localhost" \
	verify_fails "hostname mismatch" server/wrong-host -verify_hostname localhost
check "server/wrong-host: rejected for IP 127.0.0.1" \
	verify_fails "IP address mismatch" server/wrong-host -verify_ip 127.0.0.1
check "client/untrusted: rejected by the test root" \
	verify_fails "unable to get local issuer certificate" client/untrusted
check "client/untrusted: valid under its own CA (only the trust is wrong)" \
	openssl verify -CAfile "$DIR/untrusted/ca.crt" -purpose sslclient "$DIR/client/untrusted.crt"
check "client/key-mismatch: certificate valid" verify client/key-mismatch -purpose sslclient
check "client/key-mismatch: key is not the certificate's" key_mismatches client/key-mismatch
check "usage 2: server/ta-issued rejected by the test root" \
	bash -c 'out=$(openssl verify -CAfile "$1" "$2" 2>&1) && exit 1; grep -q "unable to get local issuer" <<<"$out"' \
	_ "$DIR/ca/root.crt" "$DIR/server/ta-issued.crt"
check "usage 3: server/selfsigned is self-issued and rejected by the test root" \
	bash -c '[ "$(openssl x509 -in "$1" -noout -subject)" = "subject=$(openssl x509 -in "$1" -noout -issuer | sed s/^issuer=//)" ] &&
		! openssl verify -CAfile "$2" "$1" >/dev/null 2>&1' _ "$DIR/server/selfsigned.crt" "$DIR/ca/root.crt"
check "server/large-chain: EE + intermediates exceed $LARGE_CHAIN_MIN bytes" large_chain_big
check "server/localhost key is EC P-256" key_type_is server/localhost "NIST CURVE: P-256"
check "rsa/server/localhost key is RSA-2048" key_type_is rsa/server/localhost "Public-Key: (2048 bit)"
check "rsa/client/dev1 key is RSA-2048" key_type_is rsa/client/dev1 "Public-Key: (2048 bit)"
check "ca/bundle.pem = intermediate + root" \
	cmp -s "$DIR/ca/bundle.pem" <(cat "$DIR/ca/intermediate.crt" "$DIR/ca/root.crt")
# ---------------------------------------------------------------------------
# The same judgements by Mbed TLS 3.6, the stack of the emulator and the
# reference layer: parses every file, and flags exactly what is expected.
mbedtls_expect() { # ID -> the flag set Mbed TLS must report
	case $(field "$1" expect) in
	expired) echo expired ;;
	not_yet_valid) echo future ;;
	wrong_host) echo cn_mismatch ;;
	untrusted) echo not_trusted ;;
	*) echo ok ;;
	esac
}
mbedtls_name() { # ID -> name to verify: localhost for wrong-host, else first DNS SAN
	local s
	[ "$(field "$1" expect)" = wrong_host ] && { echo localhost; return; }
	for s in $(field "$1" san); do
		case $s in DNS:*) echo "${s#DNS:}" && return ;; esac
	done
	echo -
}
mbedtls_checks() {
	local id chain purpose s
	for id in $(q '.certs | keys[]'); do
		chain=$(field "$id" chain)
		[ "$chain" != null ] || chain=$(field "$id" cert)
		case $(field "$id" role) in
		server) purpose=server ;;
		client) purpose=client ;;
		*) purpose=ca ;;
		esac
		check "mbedtls: $id verifies as '$(mbedtls_expect "$id")' ($purpose, name $(mbedtls_name "$id"))" \
			"$PKI_CHECK" verify "$DIR/$(field "$id" trust)" "$DIR/$chain" "$purpose" \
			"$(mbedtls_name "$id")" "$(mbedtls_expect "$id")"
		if [ "$(field "$id" expect)" = valid ] && [ "$purpose" = server ]; then
			for s in $(field "$id" san); do
				case $s in
				IP:*) check "mbedtls: $id matches IP ${s#IP:}" \
					"$PKI_CHECK" verify "$DIR/$(field "$id" trust)" "$DIR/$chain" server "${s#IP:}" ok ;;
				esac
			done
		fi
		if [ "$(field "$id" key)" != null ]; then
			local want=match
			[ "$(field "$id" expect)" != key_mismatch ] || want=mismatch
			check "mbedtls: key of $id: $want" \
				"$PKI_CHECK" pair "$DIR/$(field "$id" cert)" "$DIR/$(field "$id" key)" "$want"
		fi
	done
	check "mbedtls: server/localhost is not a client certificate (checker can fail)" \
		"$PKI_CHECK" verify "$DIR/ca/root.crt" "$DIR/server/localhost.chain.pem" client - ext_key_usage
}
if [ -x "$PKI_CHECK" ]; then
	mbedtls_checks
else
	fail "mbedtls: checker $PKI_CHECK not built" \
		"build it with 'make BUILD=$(dirname "$DIR") test-certs' (or unit-tests-bin), or set PKI_CHECK"
fi

check "certs/gen-pki.sh --check: $DIR is up to date" bash "$(dirname "$0")/../../certs/gen-pki.sh" --check "$DIR"

# ---------------------------------------------------------------------------
# Interop with Debian's libcoap peers, both TLS builds (OpenSSL and GnuTLS),
# as server and as client, DTLS PKI mode with mutual authentication, on
# 127.0.0.1. libcoap 4.3.1 with OpenSSL sends only the first certificate of
# -c and reads only the first certificate of -C, so peers get their trust
# stores with -R (every certificate of the file); OpenSSL then completes the
# chain it sends from that store.
IMPLS=(openssl gnutls)

# shellcheck source=tests/ports.bash
source "$(dirname "$0")/../ports.bash"
# Even P with P and P+1 free on 127.0.0.1 (coap-server: DTLS = P+1): below the
# ephemeral range and picked by no other running test (tests/ports.bash).
free_port_pair() { free_ports 2 2; }

# start_server IMPL CERT_ID TRUSTFILE: coap-server-IMPL on 127.0.0.1 with that
# server certificate, requiring client certificates from TRUSTFILE. Sets
# PORT to its DTLS port and SERVER_PID; call it in this shell, not in $(...).
start_server() {
	local impl=$1 id=$2 trust=$3 base
	base=$(free_port_pair) || {
		echo "no free UDP port pair"
		return 1
	}
	timeout "$PEER_TIMEOUT" "coap-server-$impl" -A 127.0.0.1 -p "$base" -v 4 \
		-c "$DIR/$(field "$id" chain)" -j "$DIR/$(field "$id" key)" -R "$trust" \
		>"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	PORT=$((base + 1))
	for _ in $(seq 1 40); do # up to 2 s for the DTLS socket to appear
		[ -n "$(ss -Hunl "( sport = :$PORT )" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	echo "coap-server-$impl did not listen on 127.0.0.1:$PORT; log:"
	cat "$TMP/server.log"
	return 1
}
stop_server() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
}

# get IMPL CLIENT_ID TRUSTFILE: coaps GET / with coap-client-IMPL and that
# client certificate; success = the server's banner came back (coap-client
# exits 0 even when the handshake fails).
get() {
	local out
	out=$(timeout "$PEER_TIMEOUT" "coap-client-$1" -B 3 -v 4 -m get \
		-c "$DIR/$(field "$2" cert)" -j "$DIR/$(field "$2" key)" -R "$3" \
		"coaps://127.0.0.1:$PORT/" 2>&1) || true
	grep -q "test server made with libcoap" <<<"$out" || {
		printf '%s\n' "$out"
		return 1
	}
}
# get_fails PATTERN IMPL CLIENT_ID TRUSTFILE: the GET must fail, saying PATTERN.
get_fails() {
	local pattern=$1 out
	shift
	if out=$(get "$@"); then
		echo "GET succeeded although it should not"
		return 1
	fi
	grep -q -- "$pattern" <<<"$out" || {
		echo "failed, but not with '$pattern': $out"
		return 1
	}
}

# with_server IMPL CERT_ID TRUSTFILE FUNCTION: runs FUNCTION (which makes
# checks against $PORT) with that server up, then stops it.
with_server() {
	local impl=$1 id=$2 trust=$3
	if start_server "$impl" "$id" "$trust" >"$TMP/start.log"; then
		"$4" "$impl"
		stop_server
	else
		fail "interop: start coap-server-$impl with $id" "$(cat "$TMP/start.log")"
	fi
}

UNKNOWN_CA="unknown CA\|Unknown CA\|CA is unknown"
p256_checks() {
	local srv=$1 cli
	for cli in "${IMPLS[@]}"; do
		check "interop: $cli client <-> $srv server, P-256 chain, mutual auth (client/dev1)" \
			get "$cli" client/dev1 "$DIR/ca/root.crt"
		check "interop: $cli client trusting only ta/ta.crt rejects $srv server's server/localhost" \
			get_fails "$UNKNOWN_CA" "$cli" client/dev1 "$DIR/ta/ta.crt"
		check "interop: $srv server rejects $cli client's client/untrusted" \
			get_fails "$UNKNOWN_CA" "$cli" client/untrusted "$DIR/ca/root.crt"
	done
}
rsa_checks() {
	local cli
	for cli in "${IMPLS[@]}"; do
		check "interop: $cli client <-> $1 server, RSA-2048 chain, mutual auth (rsa/client/dev1)" \
			get "$cli" rsa/client/dev1 "$DIR/rsa/ca/root.crt"
	done
}
usage2_checks() {
	local cli
	for cli in "${IMPLS[@]}"; do
		check "interop: usage 2, $cli client trusting ta/ta.crt accepts $1 server's server/ta-issued" \
			get "$cli" client/dev1 "$DIR/ta/ta.crt"
	done
}
# (No negative case for usage 3: coap-client -R accepts any self-signed
# server certificate by design, libcoap's allow_self_signed.)
usage3_checks() {
	local cli
	for cli in "${IMPLS[@]}"; do
		check "interop: usage 3, $cli client trusting server/selfsigned.crt accepts $1 server's" \
			get "$cli" client/dev1 "$DIR/server/selfsigned.crt"
	done
}

interop() {
	local impl PORT SERVER_PID
	if [ "${SKIP_INTEROP:-0}" = 1 ]; then
		echo "# interop skipped: SKIP_INTEROP=1"
		return 0
	fi
	for impl in "${IMPLS[@]}"; do
		if ! command -v "coap-server-$impl" >/dev/null || ! command -v "coap-client-$impl" >/dev/null; then
			fail "interop: coap-server-$impl/coap-client-$impl present" \
				"install Debian's libcoap3-bin: make deps"
			return 0
		fi
	done
	for impl in "${IMPLS[@]}"; do
		with_server "$impl" server/localhost "$DIR/ca/bundle.pem" p256_checks
		with_server "$impl" rsa/server/localhost "$DIR/rsa/ca/bundle.pem" rsa_checks
		with_server "$impl" server/ta-issued "$DIR/ca/bundle.pem" usage2_checks
		with_server "$impl" server/selfsigned "$DIR/ca/bundle.pem" usage3_checks
		# Both TLS libraries refuse to load a certificate with a key that is
		# not its own (what a device's stack should do too).
		check "interop: coap-client-$impl refuses client/key-mismatch as a pair" \
			get_fails "Private Key\|do not match" "$impl" client/key-mismatch "$DIR/ca/root.crt"
	done
}
interop

echo "# $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
