# Neighborhood round compute time against the number of non-zero entries (co-occurrence and purchase rows), on
# one thread and with the per-partition steps in parallel. Run by `./reco bench charts`
# (bench/RecoCluster.Bench/Reporting/ChartsRun.cs), which passes with -e:
#   datafile        a comment line, then one line per size: nonzero_entries single_thread_s parallel_s
#   outfile         the SVG to write
#   subtitle        date and machine of the run
#   command         the command that made it
#   parallel        how the parallel line ran ("8 partitions in parallel on 2 cores")
#   target_entries  the issue's target size (10,000,000)
#   target_seconds  and its time (10 s)
#   target_label    the two as the key shows them
# Both axes are logarithmic: the sizes span two decades, and linear work shows as a slope of 1.
set terminal svg size 900,520 dynamic noenhanced font 'Helvetica,12' background rgb 'white'
set output outfile
set title "Neighborhood round compute time (counts, entries, codec, snapshot)\n".subtitle."\n".command font ',10'
set logscale xy
set grid xtics ytics mxtics mytics lc rgb '#dddddd'
set key top left
set xlabel 'non-zero entries'
set ylabel 'seconds'
set format x '%.0s%c'
set format y '%g'
# A margin on every side, so that the target point, at the largest size, does not sit on the border.
set offsets graph 0.05, graph 0.08, graph 0.05, graph 0.05
plot datafile using 1:2 with linespoints lw 2 pt 7 ps 0.8 title 'one thread', \
     '' using 1:3 with linespoints lw 2 pt 5 ps 0.8 title parallel, \
     '+' using (target_entries + 0):(target_seconds + 0) every ::0::0 with points pt 3 ps 2 lc rgb '#c00000' title 'target: '.target_label
