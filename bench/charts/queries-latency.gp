# Query latency percentiles against offered load, one line per request kind; "bare" (Kestrel answering a
# fixed body) is the ceiling. Run by `./reco bench charts` (bench/RecoCluster.Bench/Reporting/ChartsRun.cs),
# which passes with -e:
#   datafile  one block per kind, blocks separated by two blank lines: offered_qps p50_ms p99_ms p999_ms
#   kinds     the kinds' names, space-separated, in block order
#   outfile   the SVG to write
#   subtitle  date and machine of the run
#   command   the command that made it
# Both axes are logarithmic: rates span a decade and latencies several.
set terminal svg size 1260,500 dynamic noenhanced font 'Helvetica,12' background rgb 'white'
set output outfile
set multiplot layout 1,3 title "Query latency under open-loop load (medians of runs)\n".subtitle."\n".command font ',10'
set logscale xy
set grid xtics ytics mxtics mytics lc rgb '#dddddd'
set key top left
set xlabel 'offered load (requests/s)'
set ylabel 'latency (ms)'
set format y '%g'
percentiles = 'p50 p99 p99.9'
do for [col = 2:4] {
  set title word(percentiles, col - 1)
  plot for [i = 1:words(kinds)] datafile index (i - 1) using 1:col with linespoints lw 2 pt 7 ps 0.8 title word(kinds, i)
}
unset multiplot
