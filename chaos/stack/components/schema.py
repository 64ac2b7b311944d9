"""The schema job: applies the SQL migrations shipped in litellm_proxy_extras (the ones resolved
with the LiteLLM version) and records them in _prisma_migrations as `prisma migrate deploy` does,
so the workers can run with DISABLE_SCHEMA_UPDATE=true.

Each file goes through psql, statement by statement outside a transaction, as Prisma runs them:
some migrations hold CREATE INDEX CONCURRENTLY, which a transaction block refuses."""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from pathlib import Path

import psycopg

from chaos.errors import StackStartError
from chaos.host.binaries import PSQL

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)
"""


def migration_files(migrations_dir: Path) -> list[Path]:
    return sorted(migrations_dir.glob("*/migration.sql"))


def apply_migrations(dsn: str, migrations_dir: Path) -> int:
    """Apply every migration not yet recorded; return how many were applied."""
    files = migration_files(migrations_dir)
    if not files:
        raise StackStartError(f"no migrations found in {migrations_dir}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(_MIGRATIONS_TABLE)
        done = {row[0] for row in conn.execute('SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL')}
        todo = [p for p in files if p.parent.name not in done]
        if todo:
            _run_psql(dsn, todo)
        for path in todo:
            conn.execute(
                'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) '
                "VALUES (%s, %s, now(), %s, 1)",
                (str(uuid.uuid4()), hashlib.sha256(path.read_bytes()).hexdigest(), path.parent.name),
            )
    return len(todo)


def _run_psql(dsn: str, files: list[Path]) -> None:
    """All files in one psql session (one process, one connection: fast), stopping at the first error."""
    argv = [str(PSQL.require()), dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    for path in files:
        argv += ["-f", str(path)]
    out = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                         env={"PGOPTIONS": "-c client_min_messages=warning", "PATH": "/usr/bin:/bin"})
    if out.returncode != 0:
        raise StackStartError(f"schema job failed: {(out.stderr or out.stdout).strip().splitlines()[-1]}")


def store_model_in_db_setting(dsn: str) -> None:
    """general_settings.store_model_in_db = true in the DB only (as the admin UI would store it)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            'INSERT INTO "LiteLLM_Config" (param_name, param_value) VALUES (%s, %s::jsonb) '
            "ON CONFLICT (param_name) DO UPDATE SET param_value = EXCLUDED.param_value",
            ("general_settings", '{"store_model_in_db": true}'),
        )
