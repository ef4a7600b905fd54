#!/usr/bin/env bash
# fleet-plot: docs/fleet-scaling.svg from the JSON results of several
# lwm2m-load runs (bench/fleet-sweep.sh writes them): one row per run,
# sorted by fleet size, into a table docs/fleet.gp plots with gnuplot
# (Debian gnuplot-nox). The table is kept beside the JSON files.
#
# usage: bench/fleet-plot.sh [OUT.svg] [RESULT.json...]
#        (default docs/fleet-scaling.svg and build/bench/fleet/fleet-*.json)
set -euo pipefail

OUT=${1:-docs/fleet-scaling.svg}
shift || true
FILES=("$@")
[ ${#FILES[@]} -gt 0 ] || FILES=(build/bench/fleet/fleet-*.json)
command -v gnuplot >/dev/null || {
	echo "fleet-plot: gnuplot missing: install gnuplot-nox ('make deps')" >&2
	exit 1
}
[ -f "${FILES[0]}" ] || {
	echo "fleet-plot: no results (${FILES[*]}): run bench/fleet-sweep.sh first" >&2
	exit 1
}
TSV=$(dirname "${FILES[0]}")/fleet.tsv
jq -r '[.counts.registered, ((.server_rss_kb - .server_rss_kb_start) / 1024), (.client_rss_kb / 1024),
	(.ops.update.p50_us / 1000), (.ops.update.p90_us / 1000),
	(.ops.update.p99_us / 1000)] | @tsv' "${FILES[@]}" | sort -n >"$TSV"
gnuplot -e "data='$TSV'; out='$OUT'" "$(dirname "$0")/../docs/fleet.gp"
echo "fleet-plot: $OUT from $TSV" >&2
