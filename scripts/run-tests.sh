#!/usr/bin/env bash
# Runs every test and ends with one line "N passed, N failed" (what CI reads).
#   unit       build/tests/test_* (cmocka), counted per test case
#   shell      tests/{build,certs,interop}/*.sh, tests/abuse/test-*.sh and tests/avsnet/test-*.sh, TAP-style "ok"/"not ok" lines
#              counted per line (a script that prints none counts once)
#   fuzz       make fuzz-smoke, counted per target
#   mutants    tests/mutants/run-mutants.sh --smoke, counted per mutant (+ reference)
#   scenarios  lwm2m-harness run over scenarios/, counted per scenario (and
#              again with the ASan+UBSan build when ASAN_BUILD is set)
# Usage: scripts/run-tests.sh [BUILD_DIR]   (default: build; ASAN_BUILD=dir adds
#        the catalogue again with that sanitizer build)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
BUILD=${1:-${BUILD:-build}}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
passed=0 failed=0 skipped=0
failures=()
# Output goes through files, not pipes: a test that leaves a child behind
# must not keep the runner waiting for EOF. Every test is bounded in time.
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.times"' EXIT

# Wall times: microseconds from bash's clock; every test script, unit
# binary and section is timed, the slowest are listed before the last line.
now_us() { local t=${EPOCHREALTIME//[.,]/}; printf '%s' "$t"; }
fmt_s() { printf '%d.%d' "$(($1 / 1000000))" "$(($1 / 100000 % 10))"; }
timings=() sections=()
sec_name="" sec_t0=0 sec_cpu="0 0"
# section NAME: closes the previous section's timer, opens this one's.
section() {
	section_end
	sec_name=$* sec_t0=$(now_us)
	cpu_ms sec_cpu
	printf '\n== %s\n' "$*"
}
section_end() {
	local cpu
	[ -n "$sec_name" ] || return 0
	cpu_ms cpu
	sections+=("$(($(now_us) - sec_t0)) $((${cpu% *} - ${sec_cpu% *})) $((${cpu#* } - ${sec_cpu#* })) $sec_name")
	sec_name=""
}
# cpu_ms VAR: sets VAR to "USER SYS", the CPU milliseconds of the runner's
# finished children (run here, not in $(...): a subshell's children are not ours).
cpu_ms() {
	local u s
	times >"$tmp.times"
	{ read -r _ _; read -r u s; } <"$tmp.times"
	printf -v "$1" '%d %d' "$(to_ms "$u")" "$(to_ms "$s")"
}
# to_ms 1m2.345s: milliseconds.
to_ms() {
	local m=${1%%m*} x=${1#*m} f
	x=${x%s}
	f=${x#*[.,]}000
	printf '%d' "$((10#$m * 60000 + 10#${x%[.,]*} * 1000 + 10#${f:0:3}))"
}
# timed NAME US: records one item's wall time.
timed() { timings+=("$2 $1"); }

run_unit() {
	local t out p f t0 us
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		t0=$(now_us)
		timeout -k 5 300 "$t" >"$tmp" 2>&1 </dev/null
		us=$(($(now_us) - t0))
		printf -- '-- %s (%s s)\n' "$t" "$(fmt_s "$us")"
		timed "$t" "$us"
		out=$(cat "$tmp")
		printf '%s\n' "$out" | grep -E '^\[ *(OK|FAILED|ERROR|SKIPPED) *\]|^\[  (PASSED|FAILED)  \]' || true
		p=$(printf '%s\n' "$out" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		f=$(printf '%s\n' "$out" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		p=${p:-0} f=${f:-0}
		# A binary that crashed before cmocka's summary still counts as a failure.
		if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
			f=1
			printf '%s\n' "$out" | tail -5
		fi
		passed=$((passed + p)) failed=$((failed + f))
		[ "$f" -gt 0 ] && failures+=("unit: $(basename "$t")")
	done
}

run_shell() {
	local s out status ok nok t0 us
	for s in tests/build/*.sh tests/certs/*.sh tests/interop/*.sh tests/abuse/test-*.sh tests/avsnet/test-*.sh; do
		[ -f "$s" ] || continue
		t0=$(now_us)
		BUILD="$BUILD" timeout -k 5 600 bash "$s" >"$tmp" 2>&1 </dev/null
		status=$?
		us=$(($(now_us) - t0))
		printf -- '-- %s (%s s)\n' "$s" "$(fmt_s "$us")"
		timed "$s" "$us"
		out=$(cat "$tmp")
		printf '%s\n' "$out"
		ok=$(grep -cE '^ok ' <<<"$out")
		nok=$(grep -cE '^not ok ' <<<"$out")
		if [ "$ok" -eq 0 ] && [ "$nok" -eq 0 ]; then
			if [ "$status" -eq 0 ]; then ok=1; else nok=1; fi
		elif [ "$status" -ne 0 ] && [ "$nok" -eq 0 ]; then
			nok=1 # exited non-zero without saying which check: still a failure
		fi
		passed=$((passed + ok)) failed=$((failed + nok))
		[ "$nok" -gt 0 ] && failures+=("shell: $s")
	done
}

# run_scenarios HARNESS RESULTS_DIR [ENV...]: the catalogue with one build.
run_scenarios() {
	local harness=$1 results=$2 out status line p f s
	shift 2
	env "$@" timeout -k 10 1200 "$harness" run --jobs "$JOBS" --results "$results" scenarios \
		>"$tmp" 2>&1 </dev/null
	status=$?
	out=$(cat "$tmp")
	printf '%s\n' "$out"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -1)
	p=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$line")
	f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
	s=$(sed -n 's/.* \([0-9]*\) skipped.*/\1/p' <<<"$line")
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # the harness itself failed (validation, crash): count it
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$f" -gt 0 ] && failures+=("scenarios ($harness): see $results/latest/summary.json")
}

# run_make_tap TARGET: a make target whose output is TAP-style lines.
run_make_tap() {
	local out status ok nok
	timeout -k 5 900 make --no-print-directory -s BUILD="$BUILD" "$1" >"$tmp" 2>&1 </dev/null
	status=$?
	out=$(cat "$tmp")
	printf '%s\n' "$out" | grep -E '^(ok|not ok) |^#' || printf '%s\n' "$out" | tail -20
	ok=$(grep -cE '^ok ' <<<"$out")
	nok=$(grep -cE '^not ok ' <<<"$out")
	[ "$status" -ne 0 ] && [ "$nok" -eq 0 ] && nok=1
	passed=$((passed + ok)) failed=$((failed + nok))
	[ "$nok" -gt 0 ] && failures+=("make $1")
}

# run_mutants: each mutant layer against the scenarios that caught it
# (tests/mutants/smoke.list); one result per mutant, plus the reference
# layer, which must pass every listed scenario.
run_mutants() {
	local out status ok nok
	timeout -k 5 900 bash tests/mutants/run-mutants.sh --build "$BUILD" --jobs "$JOBS" \
		--smoke tests/mutants/smoke.list >"$tmp" 2>&1 </dev/null
	status=$?
	out=$(cat "$tmp")
	printf '%s\n' "$out" | grep -E 'caught by|NOT CAUGHT|^reference|^mutants:' || printf '%s\n' "$out" | tail -20
	ok=$(grep -cE '^[a-z_]+ +caught by ' <<<"$out")
	nok=$(grep -cE 'NOT CAUGHT' <<<"$out")
	if grep -qE '^reference +0 passed|^reference .* [1-9][0-9]* failed' <<<"$out"; then
		nok=$((nok + 1))
	else
		ok=$((ok + 1))
	fi
	[ "$status" -ne 0 ] && [ "$nok" -eq 0 ] && nok=1
	passed=$((passed + ok)) failed=$((failed + nok))
	[ "$nok" -gt 0 ] && failures+=("mutants smoke: see $BUILD/mutants/")
}

section "unit tests"
run_unit
section "build, PKI and interop tests"
run_shell
section "fuzz smoke (libFuzzer, each target for a few seconds, regressions replayed)"
t0=$(now_us)
run_make_tap fuzz-smoke
timed "fuzz smoke" "$(($(now_us) - t0))"
section "mutant layers (each must be caught; the reference must pass)"
t0=$(now_us)
run_mutants
timed "mutants smoke" "$(($(now_us) - t0))"
section "scenarios"
t0=$(now_us)
run_scenarios "$BUILD/bin/lwm2m-harness" results
timed "scenarios" "$(($(now_us) - t0))"
# The same catalogue with the ASan+UBSan build, when `make test` built it.
if [ -n "${ASAN_BUILD:-}" ]; then
	section "scenarios under ASan+UBSan ($ASAN_BUILD)"
	t0=$(now_us)
	run_scenarios "$ASAN_BUILD/bin/lwm2m-harness" results/asan \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	timed "scenarios under ASan+UBSan" "$(($(now_us) - t0))"
fi

section_end
echo
echo "time per section (wall, user, sys):"
if [ -n "${BUILD_TIMES:-}" ]; then
	read -r w u sy <<<"$BUILD_TIMES"
	printf '  %7s s %7s s %7s s  %s\n' "$(fmt_s "$((w / 1000))")" "$(fmt_s "$(($(to_ms "$u") * 1000))")" \
		"$(fmt_s "$(($(to_ms "$sy") * 1000))")" "build (before this runner)"
fi
for x in "${sections[@]}"; do
	read -r w u sy name <<<"$x"
	printf '  %7s s %7s s %7s s  %s\n' "$(fmt_s "$w")" "$(fmt_s "$((u * 1000))")" "$(fmt_s "$((sy * 1000))")" "$name"
done
echo "slowest 10:"
printf '%s\n' "${timings[@]}" | sort -rn | head -10 | while read -r us name; do
	printf '  %8s s  %s\n' "$(fmt_s "$us")" "$name"
done
echo
if [ "${#failures[@]}" -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
