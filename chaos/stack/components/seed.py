"""Seed models, pointing at the fake upstream, then verified on every worker with a real chat
completion. Two ways in:
- "db" (the default): written into LiteLLM's model table before any worker starts, as
  /model/new stores them (every string parameter encrypted with the run's salt key the way
  LiteLLM does by default: XSalsa20-Poly1305 under SHA-256 of the key, URL-safe base64), so
  every worker loads them at startup and no worker waits for a reload to learn them;
- "api": created through /model/new on worker-1 once the fleet is up (the others learn them at
  their next reload: 30 s on 1.82.3)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid

import httpx
import nacl.secret
import psycopg

from chaos.errors import StackStartError, SteadyStateDeviated
from chaos.host.waiting import wait_until
from chaos.litellm.models import ModelSpec
from chaos.oracle.classify import INVALID_MODEL, classify
from chaos.stack.components.model_reads import MODEL_TABLE
from chaos.traffic.litellm_api import LiteLLMClient, model_new_body

SEED_VIAS = ("db", "api")
SEEDED_BY = "litellm-chaos-seed"


def encrypt_like_litellm(value: str, salt_key: str) -> str:
    """LiteLLM's encrypt_value_helper with its default algorithm (1.82.3 to 1.108.7 alike)."""
    box = nacl.secret.SecretBox(hashlib.sha256(salt_key.encode()).digest())
    return base64.urlsafe_b64encode(box.encrypt(value.encode("utf-8"))).decode("utf-8")


def encrypted_params(spec: ModelSpec, upstream_url: str, salt_key: str, route: str | None = None) -> str:
    """As /model/new stores them: string parameters encrypted, the others (rpm: 600, timeout: 30) as they are."""
    params = spec.litellm_params(upstream_url, route)
    return json.dumps({k: encrypt_like_litellm(v, salt_key) if isinstance(v, str) else v for k, v in params.items()})


def db_rows(specs, upstream_url: str, salt_key: str) -> list[dict]:
    """The model table's rows /model/new would write for these models (chaos.litellm.models.ModelSpec)."""
    rows = []
    for m in specs:
        model_id = str(uuid.uuid4())
        rows.append({"model_id": model_id, "model_name": m.name, "litellm_params": encrypted_params(m, upstream_url, salt_key),
                     "model_info": json.dumps({"id": model_id, "db_model": False})})
    return rows


def delete_rows(dsn: str, name: str) -> None:
    """Delete a model's rows straight in the DB (as another replica's /model/delete would)."""
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        if conn.execute(f'DELETE FROM "{MODEL_TABLE}" WHERE model_name = %s', (name,)).rowcount == 0:
            raise LookupError(f"no row for model {name!r}")


def update_rows(dsn: str, name: str, litellm_params: str) -> None:
    """Point a model's rows at new parameters straight in the DB (updated_at set, as /model/update does)."""
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        n = conn.execute(f'UPDATE "{MODEL_TABLE}" SET litellm_params = %s::jsonb, updated_at = now(), updated_by = %s '
                         "WHERE model_name = %s", (litellm_params, SEEDED_BY, name)).rowcount
        if n == 0:
            raise LookupError(f"no row for model {name!r}")


def write_rows(dsn: str, rows: list[dict]) -> None:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        for row in rows:
            conn.execute(
                f'INSERT INTO "{MODEL_TABLE}" (model_id, model_name, litellm_params, model_info, created_by, updated_by) '
                "VALUES (%(model_id)s, %(model_name)s, %(litellm_params)s::jsonb, %(model_info)s::jsonb, %(by)s, %(by)s)",
                row | {"by": SEEDED_BY})


def create_models(client: LiteLLMClient, worker_url: str, specs, upstream_url: str) -> None:
    for m in specs:
        resp = client.model_new(worker_url, model_new_body(m.name, upstream_url, spec=m))
        if resp.status_code != 200:
            raise StackStartError(f"/model/new for {m.name!r} on {worker_url} answered {resp.status_code}: {resp.text[:300]}")


def verify_everywhere(client: LiteLLMClient, worker_urls: dict[str, str], models: list[str], timeout: float) -> dict:
    """Wait until every (worker, model) answers a chat completion with 200; returns, per pair,
    the seconds it took. (Seeded through the API, the other workers learn a model at their next
    reload, hence the timeout.)"""
    start = time.monotonic()
    pending = {(w, m) for w in worker_urls for m in models}
    took: dict[str, float] = {}
    last: dict[tuple[str, str], str] = {}
    invalid: dict[tuple[str, str], bool] = {}

    def probe_pending() -> bool:
        for worker, model in sorted(pending):
            try:
                resp = client.chat(worker_urls[worker], model)
            except httpx.HTTPError as exc:
                last[(worker, model)] = type(exc).__name__
                continue
            if resp.status_code == 200:
                pending.discard((worker, model))
                took[f"{worker}/{model}"] = round(time.monotonic() - start, 3)
            else:
                last[(worker, model)] = f"{resp.status_code}: {resp.text[:200]}"
                invalid[(worker, model)] = classify(resp.status_code, resp.text) == INVALID_MODEL
        return not pending

    def not_served() -> StackStartError:
        # a pair whose last answer was "Invalid model name" is the gateway's failure, not the harness's
        deviated = sorted(p for p in pending if invalid.get(p))
        worker, model = (deviated or sorted(pending))[0]
        what = (f"seed model {model!r} not served by {worker} within {timeout:.0f} s ({len(pending)} pairs pending); "
                f"last answer {last.get((worker, model))}")
        if deviated:
            return SteadyStateDeviated(f"{worker} answered 'Invalid model name' for the valid model {model!r} before any "
                                       f"fault ({len(deviated)} pair(s)): {what}")
        return StackStartError(what)

    wait_until(probe_pending, timeout, interval=0.5, fail=not_served)
    return took
