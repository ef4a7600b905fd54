#!/usr/bin/env bash
# fleet-psk: prints an lwm2m-emulator config whose PSK table has the
# identities dev-0 .. dev-(N-1), all with KEY (hex): the server side of
# `lwm2m-load --psk dev:KEY --psk-identities N` (one identity per device).
#
# usage: bench/fleet-psk.sh N [KEY [MEMBERS]]
#   KEY: hex, default the emulator's default key; MEMBERS: more top-level
#   config members as JSON text, e.g. '"dtls": {"hibernate_after": 2}'
set -euo pipefail
N=${1:?usage: fleet-psk.sh N [KEY]}
KEY=${2:-6c776d326d2d7365637265742d6b6579}
MEMBERS=${3:-}
[[ $N =~ ^[1-9][0-9]*$ ]] || {
	echo "fleet-psk: N '$N': want a positive integer" >&2
	exit 2
}
[[ $KEY =~ ^([0-9a-fA-F]{2})+$ ]] || {
	echo "fleet-psk: KEY '$KEY': want hex" >&2
	exit 2
}
awk -v n="$N" -v k="$KEY" -v m="$MEMBERS" 'BEGIN { printf "{%s\"psk\": [", m == "" ? "" : m ", ";
	for (i = 0; i < n; i++)
		printf "%s{\"identity\": \"dev-%d\", \"key_hex\": \"%s\"}", i ? ", " : "", i, k;
	print "]}" }'
