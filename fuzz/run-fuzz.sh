#!/usr/bin/env bash
# Runs libFuzzer targets for a bounded time each (make fuzz-smoke, make fuzz).
#   fuzz/run-fuzz.sh --smoke|--long FUZZ_DIR SECONDS TARGET...
# For each target: first replays every kept crash in fuzz/regressions/<target>/
# (each must now pass), then fuzzes from fuzz/corpus/<target>/ (read-only
# seeds) plus FUZZ_DIR/work/<target>/ (what earlier runs learnt). A crash,
# leak, sanitizer report or timeout fails the target; its input is written to
# FUZZ_DIR/crashes/<target>/ and the report's head is printed.
# Prints one TAP line per target with the executions done; exits 1 on failure.
set -uo pipefail
mode=${1:?--smoke or --long}
dir=${2:?fuzz build dir}
secs=${3:?seconds}
shift 3
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
n=0 failed=0

# Replays kept crashing inputs: each must run clean now.
replay() {
	local t=$1 bin=$2 log=$3 files
	files=$(find "fuzz/regressions/$t" -type f ! -name 'README*' 2>/dev/null | sort)
	[ -n "$files" ] || return 0
	# shellcheck disable=SC2086
	"$bin" -timeout=10 -rss_limit_mb=2048 $files </dev/null >"$log.replay" 2>&1
}

# Fuzzes one target for $secs seconds from its seeds.
run_one() {
	local t=$1 bin=$dir/fuzz_$1 work=$dir/work/$1 crashes=$dir/crashes/$1 log=$dir/logs/$1.log
	local seeds=fuzz/corpus/$t runs rc
	n=$((n + 1))
	mkdir -p "$work" "$crashes" "$dir/logs"
	[ -d "$seeds" ] || seeds=
	if ! replay "$t" "$bin" "$log"; then
		printf 'not ok %d - fuzz %s: a kept regression input crashes again\n' "$n" "$t"
		grep -E 'ERROR|SUMMARY|runtime error' "$log.replay" | head -5 | sed 's/^/# /'
		failed=$((failed + 1))
		return
	fi
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$crashes/" "$work" $seeds </dev/null >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	if [ "$rc" -ne 0 ]; then
		printf 'not ok %d - fuzz %s: crashed after %s executions (exit %d)\n' "$n" "$t" \
			"${runs:-?}" "$rc"
		grep -E '^(==[0-9]+==ERROR|SUMMARY)|runtime error|^artifact_prefix|Test unit written' \
			"$log" | head -8 | sed 's/^/# /'
		echo "# full report: $log"
		failed=$((failed + 1))
		return
	fi
	printf 'ok %d - fuzz %s: %s executions in %ss, corpus %s inputs\n' "$n" "$t" \
		"${runs:-?}" "$secs" "$(find "$work" -type f | wc -l)"
}

for t in "$@"; do
	run_one "$t"
done
echo "# fuzz ($mode): $((n - failed)) of $n targets clean"
[ "$failed" -eq 0 ]
