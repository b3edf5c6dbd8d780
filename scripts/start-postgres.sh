#!/usr/bin/env bash
# Start the local PostgreSQL cluster and make sure the test role and database exist.
# Prints the SQLAlchemy URL of the test database on stdout (the tests read it from FRONTDOOR_TEST_PG).
# TCP with a password: peer authentication would refuse root connecting as another role.
set -euo pipefail
ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
[ -n "$ver" ] || { echo "start-postgres: PostgreSQL is not installed (run scripts/setup-system.sh)" >&2; exit 1; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" && $4=="online"' | grep -q .; then
  $SUDO pg_ctlcluster "$ver" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $3}')
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
for _ in $(seq 1 30); do as_pg psql -p "$port" -tAc "select 1" >/dev/null 2>&1 && break; sleep 0.5; done
as_pg psql -p "$port" -v ON_ERROR_STOP=1 -q >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'frontdoor') THEN
    CREATE ROLE frontdoor LOGIN PASSWORD 'frontdoor' CREATEDB CREATEROLE;
  END IF;
END \$\$;
SQL
if ! as_pg psql -p "$port" -tAc "select 1 from pg_database where datname='frontdoor_test'" | grep -q 1; then
  as_pg createdb -p "$port" -O frontdoor frontdoor_test >&2
fi
echo "postgresql+psycopg://frontdoor:frontdoor@127.0.0.1:${port}/frontdoor_test"
