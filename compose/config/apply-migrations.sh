#!/bin/sh
# The schema job: LiteLLM's SQL migrations (litellm-proxy-extras, mounted at /migrations) applied
# with psql, each recorded in _prisma_migrations as Prisma would. LiteLLM runs with
# DISABLE_SCHEMA_UPDATE=true (no schema engine where native Prisma engines cannot be downloaded).
# Same steps as the local backend's chaos/stack/components/schema.py.
set -eu
export PGHOST=postgres PGUSER=postgres PGDATABASE=litellm
until pg_isready -q; do sleep 0.2; done
psql -q -v ON_ERROR_STOP=1 -c 'CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  id VARCHAR(36) PRIMARY KEY, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL,
  logs TEXT, rolled_back_at TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)'
n=0
for dir in /migrations/*/; do
  name=$(basename "$dir")
  [ -f "$dir/migration.sql" ] || continue
  done_already=$(psql -tA -c "SELECT 1 FROM \"_prisma_migrations\" WHERE migration_name = '$name'")
  [ -z "$done_already" ] || continue
  # no transaction wrapper: a migration may CREATE INDEX CONCURRENTLY
  psql -q -v ON_ERROR_STOP=1 -f "$dir/migration.sql" >/dev/null
  sum=$(sha256sum "$dir/migration.sql" | cut -c1-64)
  psql -q -v ON_ERROR_STOP=1 -c "INSERT INTO \"_prisma_migrations\" (id, checksum, finished_at, migration_name, applied_steps_count)
    VALUES (md5(random()::text || '$name'), '$sum', now(), '$name', 1)"
  n=$((n + 1))
done
echo "schema job: $n migration(s) applied"
