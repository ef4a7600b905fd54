# docs/fleet.gp: RSS and Update latency against idle CID sessions, from the
# tables bench/fleet-plot.sh makes of lwm2m-load's JSON results (one run per
# fleet size). Columns: devices, server RSS growth MiB (end - start: the
# sessions, not the PSK table), generator RSS MiB, Update p50, p90, p99 (ms).
# data: the emulator as merged; data2 (optional): one that hibernates idle
# sessions. Run: gnuplot -e "data='A.tsv'; data2='B.tsv'; out='X.svg'" docs/fleet.gp
if (!exists("data")) data = 'build/bench/fleet/fleet.tsv'
if (!exists("out")) out = 'docs/fleet-scaling.svg'
set terminal svg size 1000,420 dynamic font 'sans,11'
set output out
set multiplot layout 1,2
set logscale x 10
set logscale y 10
set xrange [500:*]
set xlabel 'idle registered CID sessions (devices)'
set grid
set key top left
set title 'RSS'
set ylabel 'MiB'
if (exists("data2")) {
	plot data using 1:2 with linespoints title 'emulator', \
	     data2 using 1:2 with linespoints title 'emulator, hibernating', \
	     data using 1:3 with linespoints title 'lwm2m-load', \
	     data2 using 1:3 with linespoints title 'lwm2m-load (hibernating run)'
} else {
	plot data using 1:2 with linespoints title 'emulator', \
	     data using 1:3 with linespoints title 'lwm2m-load'
}
set title 'Update round trip at 1000/s'
set ylabel 'ms'
if (exists("data2")) {
	plot data using 1:4 with linespoints title 'p50', \
	     data using 1:6 with linespoints title 'p99', \
	     data2 using 1:4 with linespoints title 'p50, hibernating', \
	     data2 using 1:6 with linespoints title 'p99, hibernating'
} else {
	plot data using 1:4 with linespoints title 'p50', \
	     data using 1:5 with linespoints title 'p90', \
	     data using 1:6 with linespoints title 'p99'
}
unset multiplot
