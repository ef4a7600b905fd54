#!/usr/bin/env bash
# The harness gives an emulator that saves its state on SIGTERM time to
# finish the save: scenarios/emulator/graceful-restart-cid.json with every
# fsync 3 s late (an LD_PRELOAD library; a disk whose journal is busy with
# other processes' writes, as in a parallel CI). With the run's 2 s grace
# the emulator was killed mid-save and the scenario failed.
#
# usage: tests/interop/harness-slow-save.sh   (BUILD=build)
# TAP output; exit 1 if the check failed.
set -uo pipefail
BUILD=${BUILD:-build}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/slow-save.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$TMP/slow-fsync.so" \
	"$(dirname "$0")/slow-fsync.c" -ldl || {
	echo "not ok 1 - slow-fsync.so builds"
	exit 1
}
out=$(LD_PRELOAD=$TMP/slow-fsync.so SLOW_FSYNC_MS=3000 timeout -k 5 120 \
	"$BUILD/bin/lwm2m-harness" run --results "$TMP/results" \
	scenarios/emulator/graceful-restart-cid.json 2>&1)
status=$?
if [ "$status" = 0 ] && grep -q '^1 passed, 0 failed' <<<"$out"; then
	echo "ok 1 - graceful restart passes with every fsync 3 s late (the save is waited for)"
else
	echo "not ok 1 - graceful restart passes with every fsync 3 s late (the save is waited for)"
	tail -5 <<<"$out" | sed 's/^/  # /'
	exit 1
fi
