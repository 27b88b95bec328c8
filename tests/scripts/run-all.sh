#!/usr/bin/env bash
# Runs every tests/scripts/check-*.sh (./reco test calls this once the dotnet tests pass). Each runs even if an
# earlier one failed, so one run reports every failure; the exit code is non-zero if any failed.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")"

passed=0
failed=()
shopt -s nullglob
scripts=(check-*.sh)
((${#scripts[@]} > 0)) || {
  echo "run-all: no tests/scripts/check-*.sh found" >&2
  exit 1
}
for script in "${scripts[@]}"; do
  echo "run-all: running $script" >&2
  started=$SECONDS
  if bash "./$script"; then
    passed=$((passed + 1))
    echo "run-all: $script passed in $((SECONDS - started)) s" >&2
  else
    failed+=("$script")
    echo "run-all: $script FAILED after $((SECONDS - started)) s" >&2
  fi
done

echo "run-all: ${passed} passed, ${#failed[@]} failed"
if ((${#failed[@]} > 0)); then
  echo "run-all: failed: ${failed[*]}" >&2
  exit 1
fi
