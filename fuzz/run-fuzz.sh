#!/usr/bin/env bash
# Runs libFuzzer targets for a bounded time each (make fuzz-smoke, make fuzz).
#   fuzz/run-fuzz.sh --smoke|--long FUZZ_DIR SECONDS TARGET...
# For each target: first replays every kept crash in fuzz/regressions/<target>/
# (each must now pass), then fuzzes from fuzz/corpus/<target>/ (read-only
# seeds) plus FUZZ_DIR/work/<target>/ (what earlier runs learnt). A crash,
# leak, sanitizer report or timeout fails the target; its input is written to
# FUZZ_DIR/crashes/<target>/ and the report's head is printed.
# Prints one TAP line per target with the executions done; exits 1 on failure.
# FUZZ_JOBS (default: 2, or 1 for --long) targets run at the same time.
set -uo pipefail
mode=${1:?--smoke or --long}
dir=${2:?fuzz build dir}
secs=${3:?seconds}
shift 3
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
jobs=${FUZZ_JOBS:-2}
[ "$mode" = --smoke ] || jobs=${FUZZ_JOBS:-1}

# Replays kept crashing inputs: each must run clean now.
replay() {
	local t=$1 bin=$2 log=$3 files
	files=$(find "fuzz/regressions/$t" -type f ! -name 'README*' 2>/dev/null | sort)
	[ -n "$files" ] || return 0
	# shellcheck disable=SC2086
	"$bin" -timeout=10 -rss_limit_mb=2048 $files </dev/null >"$log.replay" 2>&1
}

# Fuzzes one target for $secs seconds from its seeds; prints its result
# (a TAP line without number, then "# " lines).
run_one() {
	local t=$1 bin=$dir/fuzz_$1 work=$dir/work/$1 crashes=$dir/crashes/$1 log=$dir/logs/$1.log
	local seeds=fuzz/corpus/$t runs rc
	mkdir -p "$work" "$crashes"
	[ -d "$seeds" ] || seeds=
	if ! replay "$t" "$bin" "$log"; then
		printf 'not ok - fuzz %s: a kept regression input crashes again\n' "$t"
		grep -E 'ERROR|SUMMARY|runtime error' "$log.replay" | head -5 | sed 's/^/# /'
		return
	fi
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$crashes/" "$work" $seeds </dev/null >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	if [ "$rc" -ne 0 ]; then
		printf 'not ok - fuzz %s: crashed after %s executions (exit %d)\n' "$t" "${runs:-?}" "$rc"
		grep -E '^(==[0-9]+==ERROR|SUMMARY)|runtime error|^artifact_prefix|Test unit written' \
			"$log" | head -8 | sed 's/^/# /'
		echo "# full report: $log"
		return
	fi
	printf 'ok - fuzz %s: %s executions in %ss, corpus %s inputs\n' "$t" "${runs:-?}" "$secs" \
		"$(find "$work" -type f | wc -l)"
}

# Runs the targets $jobs at a time, then prints their results in order.
mkdir -p "$dir/logs"
for t in "$@"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	run_one "$t" >"$dir/logs/$t.result" 2>&1 &
done
wait
n=0 failed=0
for t in "$@"; do
	n=$((n + 1))
	grep -q '^not ok' "$dir/logs/$t.result" && failed=$((failed + 1))
	sed "1s/^\(not ok\|ok\) /\1 $n /" "$dir/logs/$t.result"
done
echo "# fuzz ($mode): $((n - failed)) of $n targets clean"
[ "$failed" -eq 0 ]
