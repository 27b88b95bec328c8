# Ingest throughput against the number of silos, one line per storage and partition count. Run by
# `./reco bench charts` (bench/RecoCluster.Bench/Reporting/ChartsRun.cs), which passes with -e:
#   datafile    one block per storage and partition count, blocks separated by two blank lines, each headed by
#               a line whose second column is the block's title in the key:
#               silos ev_s
#   blocks      the number of blocks
#   outfile     the SVG to write
#   subtitle    date and machine of the run
#   command     the command that made it
# The bare consumer is left out: at ten to forty times the silos' rate it would flatten every line (the table
# gives it). Linear axes: on a fixed number of cores the question is whether the line stays flat.
set terminal svg size 900,520 dynamic noenhanced font 'Helvetica,12' background rgb 'white'
set output outfile
set title "Ingest against silos, each silo a process of its own, the cluster settled (medians of runs)\n".subtitle."\n".command font ',10'
set grid xtics ytics lc rgb '#dddddd'
set key outside bottom center horizontal samplen 2 width -2
set xlabel 'silos'
set ylabel 'events/s'
set xtics 1
set xrange [0.5:*]
set yrange [0:*]
set format y '%.0f'
set offsets 0, graph 0.1, graph 0.1, 0
plot for [i = 1:(blocks + 0)] datafile index (i - 1) using 1:2 with linespoints lw 2 pt 7 ps 0.9 lc i title columnheader(2)
