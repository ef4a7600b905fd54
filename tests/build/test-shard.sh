#!/usr/bin/env bash
# --shard K/N (docs/ci.md): for N = 2 and 5 the shards of the catalogue
# are disjoint and their union is the whole selection, whatever order the
# paths are given in; two real shard runs of a small selection together ran
# exactly that selection, and scripts/merge-junit.py merges their JUnit
# files into one with every test case once. A shard with nothing to do
# passes. Output: TAP-style lines; exit non-zero on failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
H=$BUILD/bin/lwm2m-harness
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 failed=0
check() { # check DESCRIPTION COMMAND...
	n=$((n + 1))
	if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}
cd "$top" || exit 1
names() { "$H" list "$@" | awk '{print $1}' | sort; }

names scenarios >"$work/all"
check "the catalogue lists scenarios" test "$(wc -l <"$work/all")" -gt 10
for N in 2 5; do
	: >"$work/union"
	for K in $(seq 1 "$N"); do names --shard "$K/$N" scenarios >>"$work/union"; done
	check "$N shards: none is listed twice" test -z "$(sort "$work/union" | uniq -d)"
	check "$N shards: together the whole catalogue" cmp -s "$work/all" <(sort "$work/union")
done
# The split is by name, not by the order of files or paths.
names --shard 2/3 scenarios/reconnect scenarios/handshake >"$work/a"
names --shard 2/3 scenarios/handshake scenarios/reconnect >"$work/b"
check "a shard does not depend on the order of the paths" cmp -s "$work/a" "$work/b"

sel=(--name 'psk-suite-*' scenarios)
names "${sel[@]}" >"$work/sel"
for K in 1 2; do
	timeout -k 5 120 "$H" run --shard "$K/2" --results "$work/r$K" "${sel[@]}" >"$work/run$K.log" 2>&1
	check "shard $K/2 of the psk-suite-* scenarios runs and passes" test $? -eq 0
	tail -1 "$work/run$K.log" | sed 's/^/# /'
done
python3 "$top/scripts/merge-junit.py" "$work/merged.xml" "$work"/r1/latest/junit.xml "$work"/r2/latest/junit.xml
check "merge-junit.py merges the two" test $? -eq 0
grep -o '<testcase [^>]*name="[^"]*"' "$work/merged.xml" | sed 's/.* name="\([^"]*\)"/\1/' | sort >"$work/merged"
check "the merged JUnit has each selected scenario once" cmp -s "$work/sel" "$work/merged"
check "the merged suite counts them" grep -q "tests=\"$(wc -l <"$work/sel")\"" "$work/merged.xml"
python3 "$top/scripts/merge-junit.py" "$work/twice.xml" "$work"/r1/latest/junit.xml "$work"/r1/latest/junit.xml 2>"$work/twice.log"
check "merging one shard twice is refused" test $? -eq 2
timeout -k 5 60 "$H" run --shard 7/7 --results "$work/r7" --name psk-register-update-deregister scenarios >"$work/empty.log" 2>&1
check "an empty shard of a non-empty selection passes with empty reports" \
	test $? -eq 0 -a -s "$work/r7/latest/junit.xml"
exit $((failed > 0))
