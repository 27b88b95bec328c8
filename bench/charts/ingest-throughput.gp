# End-to-end ingest: events/s of a bare consumer (the ceiling) and of one silo, per storage. Run by
# `./reco bench charts` (bench/RecoCluster.Bench/Reporting/ChartsRun.cs), which passes with -e:
#   datafile  a comment line, then one line per storage: name bare_ev_s stored_ev_s second_half_ev_s (NaN:
#             not measured)
#   outfile   the SVG to write
#   subtitle  date and machine of the run
#   command   the command that made it
# A linear axis on purpose: the gap between the ceiling and the silo is the point of the chart. "Stored" is
# both sides: an ingress checkpoints a batch once its users and its item shards have stored it.
set terminal svg size 900,480 dynamic noenhanced font 'Helvetica,12' background rgb 'white'
set output outfile
set title "End-to-end ingest: bare consumer vs one silo (medians of runs)\n".subtitle."\n".command
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set datafile missing 'NaN'
set boxwidth 0.9
set ylabel 'events/s'
set yrange [0:*]
set format y '%.0f'
set grid ytics lc rgb '#dddddd'
set key outside bottom center horizontal samplen 2 width -2
plot datafile using 2:xtic(1) title 'bare consumer', \
     '' using 3 title 'silo, both sides stored', \
     '' using 4 title 'silo, second half'
