#!/usr/bin/env bash
# Makes sure the local PostgreSQL server the tests use is running, with the test role
# and database (BACKROOM_TEST_POSTGRES_URL, default below). Installs it when absent.
set -euo pipefail

scripts=$(dirname "$0")
bash "$scripts/system-deps.sh" test

version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
if [ -z "$version" ]; then
  echo "PostgreSQL is installed but has no cluster under /etc/postgresql."
  echo "Run:  sudo pg_createcluster --start 15 main   (with your version), then make test again."
  exit 1
fi

if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL $version is not running. Run:  sudo pg_ctlcluster $version main start"
    exit 1
  fi
  echo "Starting PostgreSQL $version"
  pg_ctlcluster "$version" main start
fi

for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 1
done
pg_isready -h 127.0.0.1

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi
}
psql_admin() { as_postgres psql -v ON_ERROR_STOP=1 -qtAX "$@"; }

if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'backroom'")" != 1 ]; then
  psql_admin -c "CREATE ROLE backroom LOGIN CREATEDB PASSWORD 'backroom'"
fi
# DROP DATABASE ... WITH (FORCE) must be able to end an autovacuum worker on a test database.
psql_admin -c "GRANT pg_signal_backend TO backroom"
# The warehouse migrations create the row-level security roles the web app runs requests as.
psql_admin -c "ALTER ROLE backroom CREATEROLE"
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'backroom_test'")" != 1 ]; then
  psql_admin -c "CREATE DATABASE backroom_test OWNER backroom"
fi
echo "PostgreSQL $version is ready for the tests."
