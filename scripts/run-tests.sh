#!/usr/bin/env bash
# Runs every test and ends with one line "N passed, N failed" (what CI reads).
#   unit       build/tests/test_* (cmocka), counted per test case
#   shell      tests/{build,certs,interop}/*.sh, tests/abuse/test-*.sh and
#              tests/avsnet/test-*.sh, TAP-style "ok"/"not ok" lines counted
#              per line (a script that prints none counts once)
#   fuzz       make fuzz-smoke, counted per target
#   mutants    tests/mutants/run-mutants.sh --smoke, counted per mutant (+ reference)
#   scenarios  lwm2m-harness run over scenarios/, counted per scenario (and
#              again with the ASan+UBSan build when ASAN_BUILD is set)
# Usage: scripts/run-tests.sh [BUILD_DIR]   (default: build; ASAN_BUILD=dir adds
#        the catalogue again with that sanitizer build)
#
# Every test binary, script and stage above is one task. Up to $SLOTS tasks
# (default 2 x $JOBS, JOBS = nproc: most of them wait on timers and sockets,
# not on a CPU) run at once, each into its own files; the slowest known ones
# start first. The outputs are printed, and counted, in the fixed order
# above, each once every task before it is done, whatever order the tasks
# finish in. JOBS=1 runs one task at a time in that order (and the
# catalogue with one harness job): for debugging.
# Each item's wall time is printed after its name; a per-stage table and the
# slowest 10 come before the last line. ONLY=REGEX runs only the tasks whose
# name (binary path, script path, "fuzz smoke", "mutants smoke", "scenarios",
# "scenarios under ASan+UBSan") matches: for debugging, not for CI.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
BUILD=${1:-${BUILD:-build}}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
SLOTS=${SLOTS:-$((JOBS > 1 ? JOBS * 2 : 1))}
passed=0 failed=0 skipped=0
failures=()
# Output goes through files, not pipes: a test that leaves a child behind
# must not keep the runner waiting for EOF. Every test is bounded in time.
out=$(mktemp -d "${TMPDIR:-/tmp}/run-tests.XXXXXX") || exit 2
trap 'rm -rf "$out"' EXIT

# Wall times in microseconds from bash's clock.
now_us() { local t=${EPOCHREALTIME//[.,]/}; printf '%s' "$t"; }
fmt_s() { printf '%d.%d' "$(($1 / 1000000))" "$(($1 / 100000 % 10))"; }

# to_ms 1m2.345s: milliseconds (bash's and dash's `times` formats).
to_ms() {
	local m=${1%%m*} x=${1#*m} f
	x=${x%s}
	f=${x#*[.,]}000
	printf '%d' "$((10#$m * 60000 + 10#${x%[.,]*} * 1000 + 10#${f:0:3}))"
}

# cpu_ms VAR: sets VAR to "USER SYS", the CPU milliseconds of this shell's
# finished children (run here, not in $(...): a subshell's children are not
# this shell's).
cpu_ms() {
	local u s
	times >"$out/.times.$BASHPID"
	{
		read -r _ _
		read -r u s
	} <"$out/.times.$BASHPID"
	printf -v "$1" '%d %d' "$(to_ms "$u")" "$(to_ms "$s")"
}

# --- tasks: each prints what the log shows and sets ok/nok/skip ----------

# unit_task BINARY: one cmocka binary, counted per test case.
# Unit tests of code that shares and frees memory by hand, run under
# valgrind as well: a use after free there passes its asserts, since the
# freed memory still reads back (test_emu_compact: the registry's
# remembered links entry, tried).
VALGRIND_UNITS=" test_emu_compact "
unit_task() {
	local t=$1 raw p f status vg=()
	[[ $VALGRIND_UNITS == *" ${t##*/} "* ]] && command -v valgrind >/dev/null &&
		vg=(valgrind -q --error-exitcode=99)
	timeout -k 5 300 "${vg[@]}" "$t" >"$out/$id.raw" 2>&1 </dev/null
	status=$?
	raw=$(cat "$out/$id.raw")
	printf '%s\n' "$raw" | grep -E '^\[ *(OK|FAILED|ERROR|SKIPPED) *\]|^\[  (PASSED|FAILED)  \]'
	p=$(printf '%s\n' "$raw" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$raw" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	ok=${p:-0} nok=${f:-0}
	# A binary that crashed before cmocka's summary still counts as a
	# failure, and so does one that valgrind (or anything) made exit non-zero.
	if { [ "$ok" -eq 0 ] && [ "$nok" -eq 0 ]; } || { [ "$status" -ne 0 ] && [ "$nok" -eq 0 ]; }; then
		nok=1
		printf '%s\n' "$raw" | tail -5
	fi
}

# shell_task SCRIPT: TAP lines counted; no line counts once, by exit status.
shell_task() {
	local s=$1 raw status
	BUILD="$BUILD" timeout -k 5 600 bash "$s" >"$out/$id.raw" 2>&1 </dev/null
	status=$?
	raw=$(cat "$out/$id.raw")
	printf '%s\n' "$raw"
	ok=$(grep -cE '^ok ' <<<"$raw")
	nok=$(grep -cE '^not ok ' <<<"$raw")
	if [ "$ok" -eq 0 ] && [ "$nok" -eq 0 ]; then
		if [ "$status" -eq 0 ]; then ok=1; else nok=1; fi
	elif [ "$status" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1 # exited non-zero without saying which check: still a failure
	fi
}

# fuzz_task: make fuzz-smoke, whose output is TAP-style lines.
fuzz_task() {
	local raw status
	timeout -k 5 900 make --no-print-directory -s BUILD="$BUILD" fuzz-smoke >"$out/$id.raw" 2>&1 </dev/null
	status=$?
	raw=$(cat "$out/$id.raw")
	printf '%s\n' "$raw" | grep -E '^(ok|not ok) |^#' || printf '%s\n' "$raw" | tail -20
	ok=$(grep -cE '^ok ' <<<"$raw")
	nok=$(grep -cE '^not ok ' <<<"$raw")
	[ "$status" -ne 0 ] && [ "$nok" -eq 0 ] && nok=1
}

# mutants_task: each mutant layer against the scenarios that caught it
# (tests/mutants/smoke.list); one result per mutant, plus the reference
# layer, which must pass every listed scenario. The scenarios mostly wait out
# a mutant's timeouts (285 s wall for 13 s of CPU at 2 jobs): 3 per core, as
# `make mutants` runs the whole matrix (MUT_JOBS).
mutants_task() {
	local raw status
	timeout -k 5 900 bash tests/mutants/run-mutants.sh --build "$BUILD" --jobs "$((JOBS * 3))" \
		--smoke tests/mutants/smoke.list >"$out/$id.raw" 2>&1 </dev/null
	status=$?
	raw=$(cat "$out/$id.raw")
	printf '%s\n' "$raw" | grep -E 'caught by|NOT CAUGHT|^reference|^mutants:' || printf '%s\n' "$raw" | tail -20
	ok=$(grep -cE '^[a-z_]+ +caught by ' <<<"$raw")
	nok=$(grep -cE 'NOT CAUGHT' <<<"$raw")
	if grep -qE '^reference +0 passed|^reference .* [1-9][0-9]* failed' <<<"$raw"; then
		nok=$((nok + 1))
	else
		ok=$((ok + 1))
	fi
	[ "$status" -ne 0 ] && [ "$nok" -eq 0 ] && nok=1
}

# scenarios_task HARNESS RESULTS_DIR [ENV...]: the catalogue with one build.
scenarios_task() {
	local harness=$1 results=$2 raw status line
	shift 2
	env "$@" timeout -k 10 1200 "$harness" run --jobs "$JOBS" --results "$results" scenarios \
		>"$out/$id.raw" 2>&1 </dev/null
	status=$?
	raw=$(cat "$out/$id.raw")
	printf '%s\n' "$raw"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$raw" | tail -1)
	ok=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$line")
	nok=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
	skip=$(sed -n 's/.* \([0-9]*\) skipped.*/\1/p' <<<"$line")
	ok=${ok:-0} nok=${nok:-0} skip=${skip:-0}
	if [ "$status" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1 # the harness itself failed (validation, crash): count it
	fi
}

# --- the task list, in report order ---------------------------------------
T_SECTION=() T_NAME=() T_CMD=() T_FAIL=()
# add SECTION NAME FAILURE_LABEL CMD...: one task.
add() {
	[[ -z ${ONLY:-} || $2 =~ $ONLY ]] || return 0
	T_SECTION+=("$1") T_NAME+=("$2") T_FAIL+=("$3")
	shift 3
	T_CMD+=("$(printf '%q ' "$@")")
}

S_UNIT="unit tests"
S_SHELL="build, PKI and interop tests"
S_FUZZ="fuzz smoke (libFuzzer, each target for a few seconds, regressions replayed)"
S_MUT="mutant layers (each must be caught; the reference must pass)"
S_SCN="scenarios"
S_ASAN="scenarios under ASan+UBSan (${ASAN_BUILD:-})"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && add "$S_UNIT" "$t" "unit: ${t##*/}" unit_task "$t"
done
for s in tests/build/*.sh tests/certs/*.sh tests/interop/*.sh tests/abuse/test-*.sh tests/avsnet/test-*.sh; do
	[ -f "$s" ] && add "$S_SHELL" "$s" "shell: $s" shell_task "$s"
done
add "$S_FUZZ" "fuzz smoke" "make fuzz-smoke" fuzz_task
add "$S_MUT" "mutants smoke" "mutants smoke: see $BUILD/mutants/" mutants_task
add "$S_SCN" "scenarios" "scenarios ($BUILD/bin/lwm2m-harness): see results/latest/summary.json" \
	scenarios_task "$BUILD/bin/lwm2m-harness" results
# The same catalogue with the ASan+UBSan build, when `make test` built it.
if [ -n "${ASAN_BUILD:-}" ]; then
	add "$S_ASAN" "scenarios under ASan+UBSan" \
		"scenarios ($ASAN_BUILD/bin/lwm2m-harness): see results/asan/latest/summary.json" \
		scenarios_task "$ASAN_BUILD/bin/lwm2m-harness" results/asan \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

# The order tasks start in: longest first (from a clean-clone run's times,
# so that the long ones do not end up alone at the end), then the rest in
# report order. JOBS=1 keeps the report order.
SLOW_FIRST=(
	tests/avsnet/test-avsnet.sh "mutants smoke" "scenarios under ASan+UBSan"
	scenarios tests/interop/bench-smoke.sh tests/interop/wakaama-bootstrap.sh
	tests/interop/emu-http.sh tests/interop/shim-emulator.sh tests/build/test-shard.sh
	tests/build/test-install.sh "$BUILD/tests/test_emu_hibernate" tests/interop/fleet-smoke.sh
)
# The fuzz smoke runs each target for a fixed time and needs both CPUs for
# it: it starts last, with the long tasks that mostly wait (avsnet, mutants),
# so that it does not lose half its executions to the busy start.
LAST=("fuzz smoke")
start_order() {
	local n i
	if [ "$SLOTS" -le 1 ]; then
		seq 0 $((${#T_NAME[@]} - 1))
		return
	fi
	for n in "${SLOW_FIRST[@]}"; do
		for i in "${!T_NAME[@]}"; do [ "${T_NAME[$i]}" = "$n" ] && echo "$i"; done
	done
	for i in "${!T_NAME[@]}"; do
		[[ " ${SLOW_FIRST[*]} ${LAST[*]} " == *" ${T_NAME[$i]} "* ]] || echo "$i"
	done
	for n in "${LAST[@]}"; do
		for i in "${!T_NAME[@]}"; do [ "${T_NAME[$i]}" = "$n" ] && echo "$i"; done
	done
}

# run_task ID: runs one task in this (sub)shell; its log goes to $out/ID.log,
# its counts, wall time and CPU to $out/ID.res.
run_task() {
	local id=$1 ok=0 nok=0 skip=0 t0 cpu0 cpu1 u0 s0 u1 s1
	t0=$(now_us)
	cpu_ms cpu0
	eval "${T_CMD[$id]}" >"$out/$id.log" 2>&1
	cpu_ms cpu1
	read -r u0 s0 <<<"$cpu0"
	read -r u1 s1 <<<"$cpu1"
	echo "$ok $nok $skip $(($(now_us) - t0)) $((u1 - u0)) $((s1 - s0)) $t0" >"$out/$id.res.part"
	mv "$out/$id.res.part" "$out/$id.res" # its presence says the task is done
}

# run_all: starts the tasks, SLOTS at a time; as they end, prints every
# finished one that the report order has reached (so the log moves on
# while later tasks run, and its order never depends on timing).
run_all() {
	local id
	next=0
	for id in $(start_order); do
		while [ "$(jobs -rp | wc -l)" -ge "$SLOTS" ]; do
			wait -n
			report_ready
		done
		run_task "$id" &
	done
	while [ -n "$(jobs -rp)" ]; do
		wait -n
		report_ready
	done
	wait
	report_ready
}

# --- report, in the fixed order --------------------------------------------
timings=() stage_names=()
declare -A st_sum st_user st_sys st_t0 st_t1

# account ID: adds one task's counts and times, and prints its output.
account() {
	local id=$1 sec=${T_SECTION[$1]} name=${T_NAME[$1]} ok nok skip us u sy t0
	read -r ok nok skip us u sy t0 <"$out/$id.res" 2>/dev/null ||
		{ ok=0 nok=1 skip=0 us=0 u=0 sy=0 t0=0; echo "runner: task $name left no result" >>"$out/$id.log"; }
	if [ -z "${st_sum[$sec]+x}" ]; then
		stage_names+=("$sec")
		st_sum[$sec]=0 st_user[$sec]=0 st_sys[$sec]=0 st_t0[$sec]=$t0 st_t1[$sec]=0
		printf '\n== %s\n' "$sec"
	fi
	case $sec in
	"$S_UNIT" | "$S_SHELL") printf -- '-- %s (%s s)\n' "$name" "$(fmt_s "$us")" ;;
	esac
	cat "$out/$id.log"
	passed=$((passed + ok)) failed=$((failed + nok)) skipped=$((skipped + skip))
	[ "$nok" -gt 0 ] && failures+=("${T_FAIL[$id]}")
	timings+=("$us $name")
	st_sum[$sec]=$((st_sum[$sec] + us)) st_user[$sec]=$((st_user[$sec] + u)) st_sys[$sec]=$((st_sys[$sec] + sy))
	[ "$t0" -ge "${st_t0[$sec]}" ] || st_t0[$sec]=$t0
	[ $((t0 + us)) -le "${st_t1[$sec]}" ] || st_t1[$sec]=$((t0 + us))
}

# times_table: per stage, the sum of its tasks' wall times, the span from its
# first start to its last end (they overlap), user and sys CPU; the build's
# line comes from make test (BUILD_TIMES="NANOSECONDS USER SYS").
times_table() {
	local sec w u sy
	echo "time per stage (sum of its tasks' wall times; span start..end; user; sys):"
	if [ -n "${BUILD_TIMES:-}" ]; then
		read -r w u sy <<<"$BUILD_TIMES"
		printf '  %7s s  %7s s  %7s s  %7s s  %s\n' "$(fmt_s "$((w / 1000))")" "$(fmt_s "$((w / 1000))")" \
			"$(fmt_s "$(($(to_ms "$u") * 1000))")" "$(fmt_s "$(($(to_ms "$sy") * 1000))")" "build (make test, before this runner)"
	fi
	for sec in "${stage_names[@]}"; do
		printf '  %7s s  %7s s  %7s s  %7s s  %s\n' "$(fmt_s "${st_sum[$sec]}")" \
			"$(fmt_s "$((st_t1[$sec] - st_t0[$sec]))")" "$(fmt_s "$((st_user[$sec] * 1000))")" \
			"$(fmt_s "$((st_sys[$sec] * 1000))")" "$sec"
	done
	printf '  tests: %s s wall with up to %s tasks at a time\n' "$(fmt_s "$(($(now_us) - run_t0))")" "$SLOTS"
	echo "slowest 10:"
	printf '%s\n' "${timings[@]}" | sort -rn | head -10 | while read -r us name; do
		printf '  %7s s  %s\n' "$(fmt_s "$us")" "$name"
	done
}

# report_ready: accounts the finished tasks from $next on, in report order.
report_ready() {
	while [ "$next" -lt "${#T_NAME[@]}" ] && [ -f "$out/$next.res" ]; do
		account "$next"
		next=$((next + 1))
	done
}

run_t0=$(now_us)
run_all
# A task whose shell died without its result still counts, as a failure.
while [ "$next" -lt "${#T_NAME[@]}" ]; do
	account "$next"
	next=$((next + 1))
done

echo
times_table
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
