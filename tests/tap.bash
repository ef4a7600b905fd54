# TAP-style helpers for the stand-alone shell tests (those that do not use
# tests/interop/lib.bash): numbered "ok N - ..." / "not ok N - ..." lines
# and a failure count the caller turns into its exit status.
# shellcheck shell=bash
N=0 FAILED=0

ok() {
	N=$((N + 1))
	echo "ok $N - $1"
}

# notok NAME [WHY]: a failure, with up to 8 lines of why as comments.
notok() {
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | head -8 | sed 's/^/  # /'
}

# check NAME CMD...: ok when CMD succeeds; its output explains a failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else notok "$name" "$out"; fi
}
