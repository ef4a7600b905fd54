#!/usr/bin/env bash
# Runs the scenario catalogue against the reference layer and every mutant
# layer (build/mutants/lwm2m_mut_*.so) and prints the matrix
# mutant -> scenarios that failed.
#
#   run-mutants.sh [--build DIR] [--jobs N] [--seed N] [--smoke LIST] [--doc FILE] [PATHS...]
#
# Every layer runs with the same network-simulator seed (default 1), and a
# scenario a mutant fails is run once more with it: only a failure that
# repeats counts as a catch (a one-off is reported as unconfirmed), so the
# matrix does not depend on a lucky draw of a lossy scenario; a scenario the
# reference layer fails is never counted as a catch.
#
# Full mode: every layer runs PATHS (default: scenarios). Smoke mode: each
# mutant runs only the scenario files LIST names for it (lines
# "MUTANT FILE...", # comments), the reference layer runs all of them.
# The matrix goes to stdout and to DIR/mutants/matrix.md (and --doc FILE);
# the scenarios that caught each mutant to DIR/mutants/catches.list (the
# format of LIST). Exit status: 0 when the reference layer passed every
# scenario and every mutant was caught by at least one; 1 otherwise; 2 on
# usage errors or invalid scenarios.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
build=build jobs=$(nproc 2>/dev/null || echo 2) smoke="" doc="" seed=1
paths=()
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--smoke) smoke=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--doc) doc=$2; shift 2 ;;
	-h | --help) sed -n '2,22p' "$0"; exit 0 ;;
	-*) echo "run-mutants.sh: unknown option $1" >&2; exit 2 ;;
	*) paths+=("$1"); shift ;;
	esac
done
[ ${#paths[@]} -gt 0 ] || paths=(scenarios)
harness=$build/bin/lwm2m-harness
reference=$build/lib/liblwm2m_layer_mbedtls.so
out=$build/mutants
for f in "$harness" "$reference"; do
	[ -e "$f" ] || { echo "run-mutants.sh: $f missing (make BUILD=$build all)" >&2; exit 2; }
done
shopt -s nullglob
mutants=("$out"/lwm2m_mut_*.so)
[ ${#mutants[@]} -gt 0 ] || { echo "run-mutants.sh: no mutants in $out" >&2; exit 2; }
results=$out/results
mkdir -p "$results"
status=0

# The scenario files the smoke list names for one mutant.
smoke_files() {
	awk -v m="$1" '$1 == m { for (i = 2; i <= NF; i++) print $i }' "$smoke" | sort -u
}

# Runs the harness with one layer; prints "FAIL name file" lines for every
# scenario that did not pass; returns the harness' exit status.
run_layer() {
	local layer=$1 log=$2
	shift 2
	"$harness" run --jobs "$jobs" --seed "$seed" --layer "$layer" --results "$results" "$@" \
		>"$log" 2>&1
	local rc=$?
	sed -n 's/^FAIL \([^ ]*\) (\([^,]*\),.*/\1 \2/p' "$log"
	return $rc
}

# Markdown-safe list of failed scenario names.
names_of() { awk '{print $1}' | sort -u | paste -sd' ' | sed 's/ /, /g'; }

declare -A failed_by
matrix="| layer | caught | scenarios that failed |"$'\n'"| --- | --- | --- |"$'\n'
catches=""
ref_paths=("${paths[@]}")
if [ -n "$smoke" ]; then
	mapfile -t ref_paths < <(awk '!/^#/ && NF > 1 { for (i = 2; i <= NF; i++) print $i }' "$smoke" | sort -u)
fi

start=$(date +%s)
ref_fail=$(run_layer "$reference" "$out/reference.log" "${ref_paths[@]}")
rc=$?
if [ $rc -eq 2 ]; then
	cat "$out/reference.log" >&2
	exit 2
fi
summary=$(tail -1 "$out/reference.log")
printf '%-22s %s\n' reference "$summary"
if [ $rc -ne 0 ] || [ -n "$ref_fail" ]; then
	status=1
	matrix+="| reference | **FAILED** (must pass all) | $(names_of <<<"$ref_fail") |"$'\n'
else
	matrix+="| reference | - (passes all: $summary) | |"$'\n'
fi

for so in "${mutants[@]}"; do
	name=$(basename "$so" .so)
	name=${name#lwm2m_mut_}
	sel=("${paths[@]}")
	if [ -n "$smoke" ]; then
		mapfile -t sel < <(smoke_files "$name")
		if [ ${#sel[@]} -eq 0 ]; then
			printf '%-22s NOT CAUGHT (no scenario listed in %s)\n' "$name" "$smoke"
			matrix+="| $name | **NO** | (none listed) |"$'\n'
			status=1
			continue
		fi
	fi
	fails=$(run_layer "$so" "$out/$name.log" "${sel[@]}")
	if [ $? -eq 2 ]; then
		cat "$out/$name.log" >&2
		echo "run-mutants.sh: the harness refused the scenarios (exit 2) for $name" >&2
		exit 2
	fi
	# A scenario the reference layer fails too proves nothing about the mutant.
	[ -n "$ref_fail" ] && fails=$(comm -23 <(sort <<<"$fails") <(sort <<<"$ref_fail"))
	once=""
	if [ -n "$fails" ]; then
		mapfile -t again < <(awk '{print $2}' <<<"$fails" | sort -u)
		confirmed=$(run_layer "$so" "$out/$name.confirm.log" "${again[@]}")
		once=$(comm -23 <(sort <<<"$fails") <(sort <<<"$confirmed"))
		fails=$confirmed
	fi
	[ -n "$once" ] && printf '%-22s unconfirmed (failed once, passed again): %s\n' "$name" \
		"$(names_of <<<"$once")"
	if [ -z "$fails" ]; then
		printf '%-22s NOT CAUGHT (%s)\n' "$name" "$(tail -1 "$out/$name.log")"
		matrix+="| $name | **NO** | |"$'\n'
		status=1
		continue
	fi
	failed_by[$name]=$fails
	printf '%-22s caught by %d: %s\n' "$name" "$(wc -l <<<"$fails")" "$(names_of <<<"$fails")"
	matrix+="| $name | yes ($(wc -l <<<"$fails")) | $(names_of <<<"$fails") |"$'\n'
	catches+="$name $(awk '{print $2}' <<<"$fails" | sort -u | paste -sd' ')"$'\n'
done
elapsed=$(($(date +%s) - start))

printf '%s' "$matrix" >"$out/matrix.md"
printf '%s' "$catches" >"$out/catches.list"
[ -n "$doc" ] && printf '%s' "$matrix" >"$doc"
printf '\n%s\n' "$matrix"
echo "matrix: $out/matrix.md, catches: $out/catches.list, logs: $out/*.log (${elapsed}s)"
if [ $status -eq 0 ]; then
	echo "mutants: all ${#mutants[@]} caught, reference layer passes"
else
	echo "mutants: FAILED (a mutant was not caught or the reference layer failed)"
fi
exit $status
