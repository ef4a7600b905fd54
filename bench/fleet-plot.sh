#!/usr/bin/env bash
# fleet-plot: docs/fleet-scaling.svg from the JSON results of lwm2m-load runs
# (bench/fleet-sweep.sh writes them, one per fleet size): one table per
# directory, a row per run sorted by size, plotted by docs/fleet.gp with
# gnuplot (Debian gnuplot-nox). A second directory (e.g. the runs against an
# emulator that hibernates idle sessions) is drawn beside the first.
#
# usage: bench/fleet-plot.sh [OUT.svg [DIR [DIR2]]]
#        (default docs/fleet-scaling.svg, build/bench/fleet)
set -euo pipefail

OUT=${1:-docs/fleet-scaling.svg}
DIR=${2:-build/bench/fleet}
DIR2=${3:-}
command -v gnuplot >/dev/null || {
	echo "fleet-plot: gnuplot missing: install gnuplot-nox ('make deps')" >&2
	exit 1
}
# table DIR: DIR/fleet.tsv from DIR/fleet-*.json (devices, server RSS growth
# MiB, generator RSS MiB, Update p50/p90/p99 ms).
table() {
	compgen -G "$1/fleet-*.json" >/dev/null || {
		echo "fleet-plot: no $1/fleet-*.json: run bench/fleet-sweep.sh first" >&2
		exit 1
	}
	jq -r '[.counts.registered, ((.server_rss_kb - .server_rss_kb_start) / 1024),
		(.client_rss_kb / 1024), (.ops.update.p50_us / 1000),
		(.ops.update.p90_us / 1000), (.ops.update.p99_us / 1000)] | @tsv' \
		"$1"/fleet-*.json | sort -n >"$1/fleet.tsv"
}
table "$DIR"
ARGS="data='$DIR/fleet.tsv'; out='$OUT'"
if [ -n "$DIR2" ]; then
	table "$DIR2"
	ARGS="$ARGS; data2='$DIR2/fleet.tsv'"
fi
gnuplot -e "$ARGS" "$(dirname "$0")/../docs/fleet.gp"
echo "fleet-plot: $OUT" >&2
