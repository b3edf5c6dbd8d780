#!/usr/bin/env bash
# Rewrite tests/slow_tests.txt (the tests `make test-fast` leaves out) from a full run's durations:
# every SQLite-side test that took over 0.5 s. Run on a quiet machine; PostgreSQL tests are slow by rule.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
FRONTDOOR_TEST_PG="$(bash scripts/start-postgres.sh)" .venv/bin/python -m pytest -n 2 -q -p no:cacheprovider \
  --durations=0 >"$out" || { tail -n 30 "$out"; exit 1; }
# node ids may hold spaces (parametrize ids): split each line on the first run of spaces after the phase only
grep -E '^[0-9.]+s (call|setup|teardown)' "$out" | sed -E 's/^([0-9.]+)s (call|setup|teardown) +/\1\t/' \
  | awk -F'\t' '{t[$2]+=$1} END {for (n in t) if (t[n] > 0.5) print n}' | grep -v postgresql | sort >tests/slow_tests.txt
wc -l tests/slow_tests.txt
