"""The LiteLLM DB state a warm stack is reset to between runs: the model table and the config
table as they were once the stack was seeded. Restoring keeps the seeded rows' ids (a worker that
is not restarted keeps serving the same deployments) and touches only what differs."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from chaos.stack.components.model_reads import MODEL_TABLE

CONFIG_TABLE = "LiteLLM_Config"
_MODEL_COLUMNS = ("model_id", "model_name", "litellm_params", "model_info", "created_by", "updated_by")


@dataclass(frozen=True)
class DBState:
    models: tuple[tuple, ...]  # rows of the model table (_MODEL_COLUMNS; JSON columns as text)
    config: tuple[tuple[str, str], ...]  # (param_name, param_value as JSON text)


def snapshot(dsn: str) -> DBState:
    cols = ", ".join(f'"{c}"::text' if c in ("litellm_params", "model_info") else f'"{c}"' for c in _MODEL_COLUMNS)
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        models = tuple(tuple(r) for r in conn.execute(f'SELECT {cols} FROM "{MODEL_TABLE}" ORDER BY model_id'))
        config = tuple(tuple(r) for r in conn.execute(f'SELECT param_name, param_value::text FROM "{CONFIG_TABLE}" ORDER BY 1'))
    return DBState(models, config)


def restore(dsn: str, state: DBState) -> dict:
    """Back to `state`; returns what changed (rows deleted, restored)."""
    ids = [row[0] for row in state.models]
    names = [name for name, _ in state.config]
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        deleted = conn.execute(f'DELETE FROM "{MODEL_TABLE}" WHERE NOT (model_id = ANY(%s))', (ids,)).rowcount
        restored = 0
        for row in state.models:
            restored += conn.execute(
                f'INSERT INTO "{MODEL_TABLE}" (model_id, model_name, litellm_params, model_info, created_by, updated_by) '
                "VALUES (%s, %s, %s::jsonb, %s::jsonb, %s, %s) ON CONFLICT (model_id) DO UPDATE SET "
                "model_name = EXCLUDED.model_name, litellm_params = EXCLUDED.litellm_params, model_info = EXCLUDED.model_info "
                f'WHERE ("{MODEL_TABLE}".model_name, "{MODEL_TABLE}".litellm_params, "{MODEL_TABLE}".model_info) '
                "IS DISTINCT FROM (EXCLUDED.model_name, EXCLUDED.litellm_params, EXCLUDED.model_info)", row).rowcount
        config_deleted = conn.execute(f'DELETE FROM "{CONFIG_TABLE}" WHERE NOT (param_name = ANY(%s))', (names,)).rowcount
        for name, value in state.config:
            conn.execute(f'INSERT INTO "{CONFIG_TABLE}" (param_name, param_value) VALUES (%s, %s::jsonb) '
                         f'ON CONFLICT (param_name) DO UPDATE SET param_value = EXCLUDED.param_value '
                         f'WHERE "{CONFIG_TABLE}".param_value IS DISTINCT FROM EXCLUDED.param_value', (name, value))
    return {"models_deleted": deleted, "models_restored": restored, "config_deleted": config_deleted}
