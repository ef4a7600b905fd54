#!/usr/bin/env bash
# Generates the test PKI (see certs/README.md) into OUTDIR with the openssl
# command line. Does nothing when OUTDIR is up to date: same generator and
# config, every file present, nothing that should be valid expiring within
# RENEW_BEFORE_DAYS. Otherwise builds a fresh PKI in a temporary directory
# next to OUTDIR and swaps it in, so readers never see a half-written PKI.
#
# usage: certs/gen-pki.sh [--force] [--check] [OUTDIR]   (default build/certs)
#   --force   regenerate even when up to date
#   --check   only report whether OUTDIR is up to date (exit 0) or not (1)
set -Eeuo pipefail
# Name the failing command instead of exiting silently under set -e, once.
trap 'printf "certs: error: \"%s\" failed (exit %d) at %s line %d\n" "$BASH_COMMAND" $? "${BASH_SOURCE[0]}" "$LINENO" >&2; exit 1' ERR

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=$HERE/pki.conf
X509_CNF=$HERE/x509.cnf
ORG="lwm2m-harness test PKI"

die() {
	printf 'certs: error: %s\n' "$*" >&2
	exit 1
}
log() { printf 'certs: %s\n' "$*" >&2; }

usage() {
	sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

FORCE=0
CHECK_ONLY=0
OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--force) FORCE=1 ;;
	--check) CHECK_ONLY=1 ;;
	-h | --help) usage ;;
	-*) echo "certs: unknown option '$1'" >&2 && usage ;;
	*)
		[ -z "$OUT" ] || die "more than one OUTDIR given ('$OUT', '$1')"
		OUT=$1
		;;
	esac
	shift
done
OUT=${OUT:-build/certs}
OUT=${OUT%/}

for tool in openssl jq flock sha256sum date; do
	command -v "$tool" >/dev/null ||
		die "'$tool' not found; run 'make deps' (scripts/install-deps.sh) as root"
done
[ -r "$CONF" ] || die "missing config $CONF"
[ -r "$X509_CNF" ] || die "missing openssl profiles $X509_CNF"
# shellcheck source=certs/pki.conf
source "$CONF"

# Everything that, when changed, must change the generated PKI: the generator,
# its two config files and the openssl that interprets them.
inputs_hash() {
	{
		cat "${BASH_SOURCE[0]}" "$CONF" "$X509_CNF"
		openssl version
	} | sha256sum | cut -d' ' -f1
}
INPUTS_SHA256=$(inputs_hash)

# Prints why OUTDIR is stale (and returns 1), or returns 0 when it is fresh.
# Uses only index.json, so an up-to-date check costs one jq call.
is_stale_reason() {
	local dir=$1 idx=$1/index.json now horizon
	[ -f "$idx" ] || {
		echo "$idx missing"
		return 1
	}
	jq -e . "$idx" >/dev/null 2>&1 || {
		echo "$idx unreadable"
		return 1
	}
	[ "$(jq -r .inputs_sha256 "$idx")" = "$INPUTS_SHA256" ] || {
		echo "generator or config changed"
		return 1
	}
	local f
	while IFS= read -r f; do
		[ -f "$dir/$f" ] || {
			echo "$dir/$f missing"
			return 1
		}
	done < <(jq -r '[.files[], (.certs[] | .files[])] | .[]' "$idx")
	now=$(date -u +%s)
	horizon=$((now + RENEW_BEFORE_DAYS * 86400))
	# valid_until: earliest notAfter of the certificates meant to be valid;
	# not_yet_valid_from: earliest notBefore of the ones meant not to be.
	if [ "$(jq -r .valid_until_epoch "$idx")" -le "$horizon" ]; then
		echo "a certificate expires within $RENEW_BEFORE_DAYS days"
		return 1
	fi
	if [ "$(jq -r .not_yet_valid_from_epoch "$idx")" -le "$horizon" ]; then
		echo "a not-yet-valid certificate becomes valid within $RENEW_BEFORE_DAYS days"
		return 1
	fi
	return 0
}

# ---------------------------------------------------------------------------
# Generation helpers. All paths are relative to the work directory $W; every
# generated certificate is recorded in $W/.records for index.json.

export OPENSSL_CONF=$X509_CNF
# x509.cnf expands ${ENV::PKI_SAN} when loaded, even for profiles without a
# SAN, so it must always be set; server profiles set the real value.
export PKI_SAN=DNS:unused.invalid

# Uniform, sortable timestamps for `openssl ca -startdate/-enddate`.
ca_date() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

# newkey PATH ec|rsa: private key (PKCS#8 PEM) plus its DER form.
newkey() {
	case $2 in
	ec) openssl genpkey -quiet -algorithm EC -pkeyopt "ec_paramgen_curve:$EC_CURVE" \
		-pkeyopt ec_param_enc:named_curve -out "$1" ;;
	rsa) openssl genpkey -quiet -algorithm RSA -pkeyopt "rsa_keygen_bits:$RSA_BITS" \
		-out "$1" ;;
	*) die "internal: key type '$2'" ;;
	esac
	openssl pkey -in "$1" -outform DER -out "${1%.key}.key.der"
}

# csr KEY SUBJECT OUT
csr() { openssl req -new -key "$1" -subj "$2" -out "$3"; }

# selfsign ID SUBJECT PROFILE DAYS: self-signed certificate for ID.key.
selfsign() {
	openssl req -new -x509 -key "$1.key" -subj "$2" -extensions "$3" \
		-days "$4" -sha256 -out "$1.crt"
}

# sign ID ISSUER_ID SUBJECT PROFILE DAYS: ISSUER signs a certificate for ID.key
# valid from now. openssl x509 picks a random serial by itself.
sign() {
	csr "$1.key" "$3" "$1.csr"
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -sha256 \
		-days "$5" -extfile "$X509_CNF" -extensions "$4" -out "$1.crt" 2>.x509.log ||
		die "openssl x509 failed for $1: $(cat .x509.log)"
	rm -f "$1.csr" .x509.log
}

# sign_window ID ISSUER_ID SUBJECT PROFILE START END: like sign, but with an
# arbitrary validity window (past or future); ISSUER_ID "self" self-signs.
# openssl 3.0's x509/req cannot set notBefore, so this goes through
# `openssl ca` with a throwaway database.
sign_window() {
	local db=.ca-db issuer_args
	if [ "$2" = self ]; then
		issuer_args=(-selfsign -keyfile "$1.key")
	else
		issuer_args=(-cert "$2.crt" -keyfile "$2.key")
	fi
	rm -rf "$db" && mkdir -p "$db/new"
	: >"$db/index.txt"
	openssl rand -hex 16 | sed 's/^./7/' >"$db/serial" # positive, random
	cat >"$db/ca.cnf" <<-EOF
		[ ca ]
		default_ca = throwaway
		[ throwaway ]
		database        = $db/index.txt
		new_certs_dir   = $db/new
		serial          = $db/serial
		default_md      = sha256
		policy          = any_name
		unique_subject  = no
		copy_extensions = none
		[ any_name ]
		organizationName = optional
		commonName       = supplied
	EOF
	csr "$1.key" "$3" "$1.csr"
	openssl ca -batch -notext -config "$db/ca.cnf" "${issuer_args[@]}" \
		-preserveDN -startdate "$(ca_date "$5")" -enddate "$(ca_date "$6")" \
		-extfile "$X509_CNF" -extensions "$4" -in "$1.csr" -out "$1.crt" 2>"$db/log" ||
		die "openssl ca failed for $1: $(cat "$db/log")"
	rm -rf "$db" "$1.csr"
}

# chain ID PART...: ID.chain.pem = ID.crt followed by the given certificates
# (the intermediates a peer sends, never the root); also ID.der.
chain() {
	local id=$1
	shift
	cat "$id.crt" "$@" >"$id.chain.pem"
	openssl x509 -in "$id.crt" -outform DER -out "$id.der"
}

# record ID ROLE EXPECT USAGES TRUST SAN: one line for index.json.
#   EXPECT: valid | expired | not_yet_valid | wrong_host | untrusted | key_mismatch
#   USAGES: LwM2M certificate usages this certificate is meant for ("0,1", "")
#   TRUST:  the file a verifier uses as trust anchor for it
# Fields are '|'-separated: a non-blank separator keeps empty fields.
record() {
	[ $# -eq 6 ] || die "internal: record needs 6 fields, got $#"
	printf '%s|%s|%s|%s|%s|%s\n' "$@" >>.records
}

# CA certificates are valid from before the expired certificates' window
# until after the not-yet-valid ones' window, so that those are wrong only in
# their own dates: `openssl verify -attime` inside their window succeeds.
CA_FROM="-$((EXPIRED_FROM_DAYS + 1)) days"
CA_UNTIL="+$CA_DAYS days"
openssl ecparam -name "$EC_CURVE" -noout 2>/dev/null ||
	die "$CONF: EC_CURVE '$EC_CURVE' is not a curve openssl knows (see: openssl ecparam -list_curves)"
{ [[ $RSA_BITS =~ ^[0-9]+$ ]] && [ "$RSA_BITS" -ge 2048 ]; } ||
	die "$CONF: RSA_BITS '$RSA_BITS' must be a number >= 2048 (OpenSSL's default security level)"
[ "$CA_DAYS" -gt "$NOT_YET_UNTIL_DAYS" ] ||
	die "$CONF: CA_DAYS ($CA_DAYS) must exceed NOT_YET_UNTIL_DAYS ($NOT_YET_UNTIL_DAYS)"
[ "$EE_DAYS" -lt "$NOT_YET_FROM_DAYS" ] ||
	die "$CONF: EE_DAYS ($EE_DAYS) must be below NOT_YET_FROM_DAYS ($NOT_YET_FROM_DAYS)"

ca_root() { # ID SUBJECT KEYTYPE
	newkey "$1.key" "$3"
	sign_window "$1" self "$2" v3_root "$CA_FROM" "$CA_UNTIL"
	openssl x509 -in "$1.crt" -outform DER -out "$1.der"
}
ca_sub() { # ID ISSUER SUBJECT KEYTYPE PROFILE
	newkey "$1.key" "$4"
	sign_window "$1" "$2" "$3" "$5" "$CA_FROM" "$CA_UNTIL"
	openssl x509 -in "$1.crt" -outform DER -out "$1.der"
}

gen_p256_cas() {
	mkdir -p ca untrusted ta
	ca_root ca/root "/O=$ORG/CN=Test Root CA (P-256)" ec
	record ca/root root_ca valid "0,2" ca/root.crt ""
	ca_sub ca/intermediate ca/root "/O=$ORG/CN=Test Intermediate CA (P-256)" ec v3_intermediate
	record ca/intermediate intermediate_ca valid "0" ca/root.crt ""
	cat ca/intermediate.crt ca/root.crt >ca/bundle.pem

	# A CA nobody is configured to trust: issues the "untrusted" client.
	ca_root untrusted/ca "/O=$ORG/CN=Untrusted Test CA" ec
	record untrusted/ca root_ca valid "" untrusted/ca.crt ""

	# LwM2M usage 2 (trust anchor assertion): a self-signed anchor outside
	# the PKI above that issues the server certificate directly.
	ca_root ta/ta "/O=$ORG/CN=Test Trust Anchor (usage 2)" ec
	record ta/ta trust_anchor valid "2" ta/ta.crt ""
}

gen_p256_servers() {
	mkdir -p server
	local entry name san
	for entry in "${SERVERS[@]}"; do
		name=${entry%%|*}
		san=${entry#*|}
		newkey "server/$name.key" ec
		PKI_SAN=$san sign "server/$name" ca/intermediate "/O=$ORG/CN=$name" v3_server "$EE_DAYS"
		chain "server/$name" ca/intermediate.crt
		record "server/$name" server valid "0,1" ca/root.crt "$san"
	done
	local def_san=${SERVERS[0]#*|} def_name=${SERVERS[0]%%|*}

	# Usage 3 (domain-issued certificate): self-signed, pinned by the client.
	newkey server/selfsigned.key ec
	PKI_SAN=$def_san selfsign server/selfsigned "/O=$ORG/CN=$def_name" v3_server_selfsigned "$EE_DAYS"
	chain server/selfsigned
	record server/selfsigned server valid "3" server/selfsigned.crt "$def_san"

	# Usage 2: issued directly by the separate trust anchor.
	newkey server/ta-issued.key ec
	PKI_SAN=$def_san sign server/ta-issued ta/ta "/O=$ORG/CN=$def_name" v3_server "$EE_DAYS"
	chain server/ta-issued
	# DANE-TA (RFC 7671 §5.2.2): a server should send its trust anchor, so a
	# usage-2 record that names the anchor by hash can find it in the chain.
	cat server/ta-issued.crt ta/ta.crt >server/ta-issued.with-anchor.pem
	record server/ta-issued server valid "2" ta/ta.crt "$def_san"

	# Otherwise-good chains (same intermediate, same names) whose only fault
	# is the validity window or the name.
	newkey server/expired.key ec
	PKI_SAN=$def_san sign_window server/expired ca/intermediate "/O=$ORG/CN=$def_name" v3_server \
		"-$EXPIRED_FROM_DAYS days" "-$EXPIRED_UNTIL_DAYS days"
	chain server/expired ca/intermediate.crt
	record server/expired server expired "0,1" ca/root.crt "$def_san"

	newkey server/not-yet-valid.key ec
	PKI_SAN=$def_san sign_window server/not-yet-valid ca/intermediate "/O=$ORG/CN=$def_name" v3_server \
		"+$NOT_YET_FROM_DAYS days" "+$NOT_YET_UNTIL_DAYS days"
	chain server/not-yet-valid ca/intermediate.crt
	record server/not-yet-valid server not_yet_valid "0,1" ca/root.crt "$def_san"

	newkey server/wrong-host.key ec
	PKI_SAN=$WRONG_HOST_SAN sign server/wrong-host ca/intermediate "/O=$ORG/CN=${WRONG_HOST_SAN#DNS:}" \
		v3_server "$EE_DAYS"
	chain server/wrong-host ca/intermediate.crt
	record server/wrong-host server wrong_host "0,1" ca/root.crt "$WRONG_HOST_SAN"
}

# A valid chain for the default names whose Certificate message does not fit
# a small Mbed TLS input buffer: LARGE_CHAIN_DEPTH intermediates under the
# root and a server certificate padded with extra SANs.
gen_large_chain() {
	mkdir -p large
	local i issuer=ca/root links=() san=${SERVERS[0]#*|}
	for ((i = 1; i <= LARGE_CHAIN_DEPTH; i++)); do
		ca_sub "large/int-$i" "$issuer" "/O=$ORG/OU=large chain link $i of $LARGE_CHAIN_DEPTH/CN=Test Large-Chain CA $i" \
			ec v3_chain_link
		chain "large/int-$i" "${links[@]}"
		record "large/int-$i" intermediate_ca valid "" ca/root.crt ""
		issuer=large/int-$i
		links=("large/int-$i.crt" "${links[@]}") # chain order: nearest issuer first
	done
	for ((i = 1; i <= LARGE_CHAIN_EXTRA_SANS; i++)); do
		san+=$(printf ',DNS:padding-%02d.large-chain.test' "$i")
	done
	newkey server/large-chain.key ec
	PKI_SAN=$san sign server/large-chain "$issuer" "/O=$ORG/CN=${SERVERS[0]%%|*}" v3_server "$EE_DAYS"
	chain server/large-chain "${links[@]}"
	record server/large-chain server valid "0,1" ca/root.crt "$san"
}

gen_p256_clients() {
	mkdir -p client
	newkey "client/$CLIENT_ENDPOINT.key" ec
	sign "client/$CLIENT_ENDPOINT" ca/intermediate "/O=$ORG/CN=$CLIENT_ENDPOINT" v3_client "$EE_DAYS"
	chain "client/$CLIENT_ENDPOINT" ca/intermediate.crt
	record "client/$CLIENT_ENDPOINT" client valid "" ca/root.crt ""

	newkey client/untrusted.key ec
	sign client/untrusted untrusted/ca "/O=$ORG/CN=$CLIENT_ENDPOINT" v3_client "$EE_DAYS"
	chain client/untrusted
	record client/untrusted client untrusted "" ca/root.crt ""

	newkey client/expired.key ec
	sign_window client/expired ca/intermediate "/O=$ORG/CN=$CLIENT_ENDPOINT" v3_client \
		"-$EXPIRED_FROM_DAYS days" "-$EXPIRED_UNTIL_DAYS days"
	chain client/expired ca/intermediate.crt
	record client/expired client expired "" ca/root.crt ""

	# A valid certificate paired with somebody else's key: the handshake's
	# CertificateVerify cannot match the certificate.
	newkey client/key-mismatch.key ec
	sign client/key-mismatch ca/intermediate "/O=$ORG/CN=$CLIENT_ENDPOINT" v3_client "$EE_DAYS"
	newkey client/key-mismatch.key ec # replaces the key the cert was made for
	chain client/key-mismatch ca/intermediate.crt
	record client/key-mismatch client key_mismatch "" ca/root.crt ""
}

gen_rsa_set() {
	mkdir -p rsa/ca rsa/server rsa/client
	ca_root rsa/ca/root "/O=$ORG/CN=Test Root CA (RSA-$RSA_BITS)" rsa
	record rsa/ca/root root_ca valid "0,2" rsa/ca/root.crt ""
	ca_sub rsa/ca/intermediate rsa/ca/root "/O=$ORG/CN=Test Intermediate CA (RSA-$RSA_BITS)" rsa v3_intermediate
	record rsa/ca/intermediate intermediate_ca valid "0" rsa/ca/root.crt ""
	cat rsa/ca/intermediate.crt rsa/ca/root.crt >rsa/ca/bundle.pem

	local name=${SERVERS[0]%%|*} san=${SERVERS[0]#*|}
	newkey "rsa/server/$name.key" rsa
	PKI_SAN=$san sign "rsa/server/$name" rsa/ca/intermediate "/O=$ORG/CN=$name" v3_server_rsa "$EE_DAYS"
	chain "rsa/server/$name" rsa/ca/intermediate.crt
	record "rsa/server/$name" server valid "0,1" rsa/ca/root.crt "$san"

	newkey "rsa/client/$CLIENT_ENDPOINT.key" rsa
	sign "rsa/client/$CLIENT_ENDPOINT" rsa/ca/intermediate "/O=$ORG/CN=$CLIENT_ENDPOINT" v3_client_rsa "$EE_DAYS"
	chain "rsa/client/$CLIENT_ENDPOINT" rsa/ca/intermediate.crt
	record "rsa/client/$CLIENT_ENDPOINT" client valid "" rsa/ca/root.crt ""
}

# ---------------------------------------------------------------------------
# index.json

epoch_of() { date -u -d "$1" +%s; }

# describe ID ROLE EXPECT USAGES TRUST SAN: one JSON object for index.json.
describe() {
	local id=$1 role=$2 expect=$3 usages=$4 trust=$5 san=$6
	local crt=$id.crt info key_type files
	info=$(openssl x509 -in "$crt" -noout -subject -issuer -serial -startdate -enddate \
		-nameopt RFC2253 -dateopt iso_8601)
	val() { sed -n "s/^$1=//p" <<<"$info"; }
	openssl x509 -in "$crt" -noout -pubkey | openssl pkey -pubin -outform DER -out .spki.der
	case $id in
	rsa/*) key_type=RSA-$RSA_BITS ;;
	*) key_type=EC-$EC_CURVE ;;
	esac
	files=$(for f in "$crt" "$id.der" "$id.key" "$id.key.der" "$id.chain.pem"; do
		if [ -f "$f" ]; then printf '%s\n' "$f"; fi
	done | jq -R . | jq -s .)
	jq -n \
		--arg id "$id" --arg role "$role" --arg expect "$expect" \
		--arg usages "$usages" --arg trust "$trust" --arg san "$san" \
		--arg subject "$(val subject)" --arg issuer "$(val issuer)" \
		--arg serial "$(val serial | tr A-F a-f)" \
		--arg nb "$(val notBefore)" --arg na "$(val notAfter)" \
		--argjson nbe "$(epoch_of "$(val notBefore)")" --argjson nae "$(epoch_of "$(val notAfter)")" \
		--arg key_type "$key_type" --argjson files "$files" \
		--arg c256 "$(sha256sum <"$id.der" | cut -d' ' -f1)" \
		--arg c512 "$(sha512sum <"$id.der" | cut -d' ' -f1)" \
		--arg s256 "$(sha256sum <.spki.der | cut -d' ' -f1)" \
		--arg s512 "$(sha512sum <.spki.der | cut -d' ' -f1)" \
		'{id: $id, role: $role, expect: $expect,
		  lwm2m_usages: ($usages | if . == "" then [] else split(",") | map(tonumber) end),
		  trust: $trust, subject: $subject, issuer: $issuer, serial: $serial,
		  san: ($san | if . == "" then [] else split(",") end),
		  not_before: $nb, not_after: $na, not_before_epoch: $nbe, not_after_epoch: $nae,
		  key_type: $key_type,
		  cert: "\($id).crt", der: "\($id).der",
		  key: (if ($files | index("\($id).key")) then "\($id).key" else null end),
		  chain: (if ($files | index("\($id).chain.pem")) then "\($id).chain.pem" else null end),
		  files: $files,
		  sha256_cert: $c256, sha256_spki: $s256, sha512_cert: $c512, sha512_spki: $s512}'
	rm -f .spki.der
}

write_index() {
	local id role expect usages trust san
	while IFS='|' read -r id role expect usages trust san; do
		describe "$id" "$role" "$expect" "$usages" "$trust" "$san"
	done <.records >.certs.jsonl
	local vhosts
	vhosts=$(for entry in "${SERVERS[@]}"; do echo "${entry%%|*}"; done | jq -R . | jq -sc .)
	jq -s --arg inputs "$INPUTS_SHA256" --arg gen "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		--argjson renew "$RENEW_BEFORE_DAYS" --argjson vhosts "$vhosts" \
		'{generated: $gen, generator: "certs/gen-pki.sh", inputs_sha256: $inputs,
		  renew_before_days: $renew,
		  valid_until_epoch: ([.[] | select(.expect != "expired" and .expect != "not_yet_valid") | .not_after_epoch] | min),
		  not_yet_valid_from_epoch: ([.[] | select(.expect == "not_yet_valid") | .not_before_epoch] | min // 4102444800),
		  files: {
		    trust_p256: "ca/root.crt", bundle_p256: "ca/bundle.pem",
		    trust_rsa: "rsa/ca/root.crt", bundle_rsa: "rsa/ca/bundle.pem",
		    trust_all: "ca/all-roots.pem", trust_anchor_usage2: "ta/ta.crt",
		    untrusted_ca: "untrusted/ca.crt"},
		  default_server: "server/\($vhosts[0])",
		  vhosts: ($vhosts | map({key: ., value: "server/\(.)"}) | from_entries),
		  certs: (map({key: .id, value: .}) | from_entries)}' .certs.jsonl >index.json
	rm -f .certs.jsonl .records
}

# generate DIR: the whole PKI into DIR (no subshell, so that the ERR trap's
# exit ends the script at the first failure and the EXIT trap cleans up).
generate() {
	cd "$1"
	: >.records
	gen_p256_cas
	gen_p256_servers
	gen_large_chain
	gen_p256_clients
	gen_rsa_set
	cat ca/root.crt rsa/ca/root.crt >ca/all-roots.pem
	write_index
	cd "$OLDPWD"
}

main() {
	local reason
	if reason=$(is_stale_reason "$OUT"); then
		if [ "$CHECK_ONLY" = 1 ] || [ "$FORCE" = 0 ]; then
			echo "certs: $OUT is up to date"
			return 0
		fi
		reason="--force"
	fi
	if [ "$CHECK_ONLY" = 1 ]; then
		echo "certs: $OUT is stale: $reason"
		trap - ERR # an expected answer, not an error
		exit 1
	fi
	mkdir -p "$(dirname "$OUT")"
	# Serialise concurrent `make certs` on the same OUTDIR (parallel jobs,
	# several helpers); bounded so a stuck holder cannot hang the build.
	exec 9>"$OUT.lock"
	flock -w 300 9 || die "timed out waiting for $OUT.lock held by another generator"
	if [ "$FORCE" = 0 ] && is_stale_reason "$OUT" >/dev/null; then
		echo "certs: $OUT is up to date (generated meanwhile)"
		return 0
	fi
	log "generating $OUT ($reason)"
	local old
	WORK=$(mktemp -d "$OUT.tmp.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	generate "$WORK"
	chmod 0755 "$WORK"
	# Swap: readers see either the old complete PKI or the new one.
	old=
	if [ -e "$OUT" ]; then
		old=$OUT.old.$$
		mv "$OUT" "$old"
	fi
	mv "$WORK" "$OUT"
	trap - EXIT
	[ -z "$old" ] || rm -rf "$old"
	echo "certs: generated $OUT ($(jq '.certs | length' "$OUT/index.json") certificates)"
}

main
