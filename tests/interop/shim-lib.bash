# Sourced by the shim interop scripts (shim-emulator.sh, shim-security.sh,
# shim-bad-input.sh) after they set SHIM and EMULATOR: a scratch directory
# and an emulator (emu_pid) cleaned up on exit, TAP output through
# `tap OK|FAIL DESCRIPTION [DETAIL]` (counts in n and failed), and a refusal
# to start when a program is missing. Not a test itself (no .sh ending).
n=0 failed=0
work=$(mktemp -d)
emu_pid=
cleanup() {
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

tap() {
	n=$((n + 1))
	if [ "$1" = OK ]; then echo "ok $n - $2"; else
		failed=$((failed + 1)); echo "not ok $n - $2"; [ -n "${3:-}" ] && echo "# $3"
	fi
}
for tool in "$SHIM" "$EMULATOR" jq; do
	command -v "$tool" >/dev/null || { echo "not ok 1 - missing $tool (make all; make deps)"; exit 1; }
done
