#!/usr/bin/env bash
# Ingest measured as a user would (`./reco bench kcat`): the ingest bench's workload (20,000 users, 5,000 items,
# Zipf-like, all four types) produced with kcat to a `./reco kafka` process; kcat reading the topic back to its end
# is the ceiling; then one `./reco silo` process on a fresh SQLite file applies it, timed by the checkpoints in its
# database (sqlite3): from the first stored batch to the last event stored, and from the process's launch. Each run
# starts everything afresh. Prints one line per run and the medians; the figures go into docs/benchmarks.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

events=200000 runs=3
while (($# > 0)); do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    *) echo "kcat-ingest: unknown argument '$1' (--events N, --runs R)" >&2; exit 2 ;;
  esac
done
for tool in kcat sqlite3 python3; do
  command -v "$tool" >/dev/null || { echo "kcat-ingest: $tool is missing (./reco bench kcat installs it)" >&2; exit 2; }
done

# Seconds since the epoch, with nanoseconds: the figures below are differences of these.
now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }

results=()
for run in $(seq "$runs"); do
  work=$(mktemp -d)
  # The workload of IngestRun.ProduceAsync (its users, items, popularity, types and timestamps), drawn by Python's
  # generator, so not the same events; in kcat's key<TAB>value form.
  python3 - "$events" "$run" >"$work/events.txt" <<'PY'
import json, random, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(seed)
start = 1761955200000  # 2026-11-01T00:00:00Z
types = ["view", "click", "add_to_cart", "purchase"]
for i in range(n):
    user, item = f"u-{r.randrange(20000)}", f"sku-{int((r.random() ** 2) * 5000)}"
    print(user + "\t" + json.dumps({"userId": user, "itemId": item, "type": types[r.randrange(4)], "timestamp": start + i * 50}, separators=(",", ":")))
PY
  RECO_NO_BUILD=1 ./reco kafka --partitions 8 --bootstrap-file "$work/bootstrap" >"$work/kafka.log" 2>&1 &
  kafka=$!
  for _ in $(seq 150); do [[ -s "$work/bootstrap" ]] && break; sleep 0.2; done
  bootstrap=$(cat "$work/bootstrap")
  kcat -P -b "$bootstrap" -t reco.events -K $'\t' -X partitioner=murmur2_random -l "$work/events.txt"

  # The ceiling: kcat reading every record back, to the end of each partition (its whole command is timed).
  t0=$(now)
  read_back=$(kcat -C -b "$bootstrap" -t reco.events -o beginning -e -q | wc -l)
  kcat_rate=$(calc "round($read_back / ($(now) - $t0))")
  ((read_back == events)) || { echo "kcat-ingest: kcat read $read_back of $events records back" >&2; exit 1; }

  launched=$(now)
  # DOTNET_TC_QuickJit=0: as the deployment's silos run (deploy/k8s/base/silo.yaml).
  DOTNET_TC_QuickJit=0 RECO_NO_BUILD=1 ./reco silo --bootstrap "$bootstrap" --silo-id bench-silo --Reco:Storage:ConnectionString="Data Source=$work/reco.db" >"$work/silo.log" 2>&1 &
  silo=$!
  first="" first_stored=0 stored=0
  while ((stored < events)); do
    kill -0 "$silo" 2>/dev/null || { echo "kcat-ingest: the silo exited; its log:" >&2; tail -20 "$work/silo.log" >&2; exit 1; }
    stored=$(sqlite3 "$work/reco.db" "SELECT COALESCE(SUM(MAX(next_offset, 0)), 0) FROM reco_ingress;" 2>/dev/null || echo 0)
    at=$(now)
    if [[ -z "$first" ]] && ((stored > 0)); then first=$at first_stored=$stored; fi
    sleep 0.02
  done

  steady=$(calc "round(($events - $first_stored) / ($at - $first))")
  whole=$(calc "round($events / ($at - $launched))")
  ratio=$(calc "round(100 * $steady / $kcat_rate, 1)")
  echo "kcat-ingest: run $run: kcat $kcat_rate events/s; silo $steady events/s from its first stored batch ($first_stored events) to the last ($ratio % of kcat), $whole events/s from its launch"
  results+=("$kcat_rate $steady $whole $ratio")
  kill "$silo" "$kafka" 2>/dev/null || true
  wait "$silo" "$kafka" 2>/dev/null || true
  rm -rf "$work"
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%s\n' "${results[@]}" | awk '{ print $1 }' | median | xargs printf 'kcat-ingest: medians of %s runs: kcat %s events/s' "$runs"
printf '%s\n' "${results[@]}" | awk '{ print $2 }' | median | xargs printf '; silo %s events/s'
printf '%s\n' "${results[@]}" | awk '{ print $4 }' | median | xargs printf ' (%s %% of kcat, the median of the runs'"'"' ratios)'
printf '%s\n' "${results[@]}" | awk '{ print $3 }' | median | xargs printf '; from launch %s events/s\n'
