#!/bin/sh
# One-shot: create Temporal's two databases and bring their schemas up to date.
# Safe to re-run on every `docker compose up`: creating what exists is skipped, and
# update-schema applies only the versions a database lacks (so it also upgrades).
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" "$@"; }  # password: $SQL_PASSWORD
schema=/etc/temporal/schema/postgresql/v12
until nc -z "$POSTGRES_SEEDS" "${DB_PORT:-5432}"; do echo "waiting for PostgreSQL"; sleep 1; done
for db in temporal temporal_visibility; do
  dir=$([ "$db" = temporal ] && echo temporal || echo visibility)
  tool --db "$db" create 2>/dev/null || echo "database $db exists"
  tool --db "$db" setup-schema -v 0.0 2>/dev/null || echo "schema of $db already set up"
  tool --db "$db" update-schema -d "$schema/$dir/versioned"
done
echo "Temporal schemas are up to date"
