# docs/fleet.gp: RSS and Update latency against idle CID sessions, from the
# table bench/fleet-plot.sh makes of lwm2m-load's JSON results (one run per
# fleet size). Columns: devices, server RSS growth MiB (end - start: the
# sessions, not the PSK table), generator RSS MiB,
# Update p50, p90, p99 (ms). Run: gnuplot -e "data='FILE'; out='SVG'" docs/fleet.gp
if (!exists("data")) data = 'build/bench/fleet/fleet.tsv'
if (!exists("out")) out = 'docs/fleet-scaling.svg'
set terminal svg size 900,380 dynamic font 'sans,11'
set output out
set multiplot layout 1,2
set logscale x 10
set xrange [500:*]
set xlabel 'idle registered CID sessions (devices)'
set grid
set key top left
set title 'RSS'
set ylabel 'MiB'
set logscale y 10
plot data using 1:2 with linespoints title 'lwm2m-emulator (growth since start)', \
     data using 1:3 with linespoints title 'lwm2m-load (all devices)'
set title 'Update round trip at a fixed rate'
set ylabel 'ms'
plot data using 1:4 with linespoints title 'p50', \
     data using 1:5 with linespoints title 'p90', \
     data using 1:6 with linespoints title 'p99'
unset multiplot
