#!/usr/bin/env bash
# What `./reco bench` would run, without running it (RECO_BENCH_DRY_RUN=1 prints each part and its arguments):
# the whole suite, `quick`, named parts with options, `micro`, and an unknown part. The suite takes about 25
# minutes, so CI cannot run it, and its argument handling once stopped on an unset variable before running
# anything; the parts themselves are smoke-tested by BenchSmokeTests.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."

failures=0
fail() {
  echo "check-bench-plan: $*" >&2
  failures=$((failures + 1))
}

# One line per part: its name, then its arguments (trailing blanks trimmed).
plan() { RECO_BENCH_DRY_RUN=1 ./reco bench "$@" | sed -n 's/^bench-plan: //p' | sed 's/ *$//'; }

suite="ingest scale queries quality memory rebuild freshness charts report"

full="$(plan)"
[[ "$(cut -d' ' -f1 <<<"$full" | paste -sd' ')" == "$suite" ]] || fail "./reco bench plans '$(paste -sd'|' <<<"$full")', not: $suite"
while read -r part args; do
  [[ -z "$args" ]] || fail "./reco bench gives $part arguments ('$args'): the suite runs each part at its defaults"
done <<<"$full"

quick="$(plan quick)"
[[ "$(cut -d' ' -f1 <<<"$quick" | paste -sd' ')" == "$suite" ]] || fail "./reco bench quick plans '$(paste -sd'|' <<<"$quick")'"
while read -r part args; do
  [[ "$args" == *.reco/bench-quick* ]] || fail "quick runs $part outside .reco/bench-quick: '$args'"
done <<<"$quick"

named="$(plan ingest --events 5 --runs 1 charts report)"
[[ "$named" == $'ingest --events 5 --runs 1\ncharts\nreport' ]] ||
  fail "named parts planned as '$(paste -sd'|' <<<"$named")'"

[[ "$(plan group --runs 2)" == "group --runs 2" ]] || fail "the group part (outside the suite) is not planned by name"

[[ "$(plan micro --filter '*UserGrain*' --job short)" == "micro --filter *UserGrain* --job short" ]] || fail "micro arguments are not passed through"

[[ "$(plan kcat --runs 1)" == "kcat --runs 1" ]] || fail "kcat is not planned by name"
[[ "$(plan profile --events 5)" == "profile dotnet-common,dotnet-sampled-thread-time ingest --runs 1 --events 5" ]] || fail "profile is not planned as one traced ingest run"

if RECO_BENCH_DRY_RUN=1 ./reco bench no-such-part >/dev/null 2>&1; then
  fail "an unknown part was accepted"
fi

((failures == 0)) || exit 1
echo "check-bench-plan: the suite, quick, named parts, micro and profile plan as documented"
