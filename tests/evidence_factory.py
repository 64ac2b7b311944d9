"""Synthetic evidence folders in the exact format a run writes (for renderer tests and the render
benchmark; real runs are covered by test_report_real.py)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from chaos.oracle.invariants import check_all
from chaos.oracle.classify import INVALID_MODEL, OK, WORKER_DOWN
from chaos.oracle.context import CheckContext
from chaos.oracle.verdict import verdict_of
from chaos.run.history import History, Op

MODELS = ["gpt-4o-mini", "google/gemini-2.5-flash", "claude-3-5-haiku"]
T0 = 1000.0  # monotonic time of the first probe
WALL0 = 1795318600.0


def make_evidence(path: Path, *, workers: int = 3, seconds: float = 60.0, rate_per_worker: float = 20.0,
                  violations_at: tuple[float, ...] = (), outage: tuple[float, float] | None = (20.0, 30.0),
                  seed: int = 1) -> Path:
    """A run of `workers` workers probed at `rate_per_worker` for `seconds`. worker-1 restarts during
    `outage` (answers worker_down); each time in `violations_at` adds one invalid_model answer of
    worker-2 (or worker-1 with a single worker)."""
    rng = random.Random(seed)
    path.mkdir(parents=True, exist_ok=True)
    names = [f"worker-{i}" for i in range(1, workers + 1)]
    history = History(path / "history.jsonl")
    events = []

    def event(t, kind, **fields):
        events.append({"t": t, "wall": WALL0 + (t - T0), "kind": kind, **fields})

    event(T0 - 1, "baseline_met", window_s=3)
    if outage:
        event(T0 + outage[0], "fault_applied", step="fault", fault="link_down(link=worker-1)", instant=False)
        event(T0 + outage[0] + 0.1, "worker_stopped", worker="worker-1", rc=-15, on_purpose=True)
        event(T0 + outage[0] + 0.2, "worker_spawned", worker="worker-1", pid=2, spawn=2)
        event(T0 + outage[0] + 0.2, "fault_applied", step="restart", fault="worker_restart(worker=worker-1)", instant=True)
        event(T0 + outage[1] - 1, "worker_ready", worker="worker-1", pid=2, spawn=2)
        event(T0 + outage[1], "fault_healed", step="fault", fault="link_down(link=worker-1)")
    event(T0 + seconds, "heal_all")
    for w in names:
        for k in range(int(seconds / 5)):
            event(T0 + 5 * k + rng.random(), "model_table_read", worker=w)
    events.sort(key=lambda e: e["t"])

    lone = names[1] if workers > 1 else names[0]
    violating = sorted(T0 + v for v in violations_at)
    n = int(seconds * rate_per_worker)
    for w in names:
        for i in range(n):
            t0 = T0 + i / rate_per_worker + rng.random() * 0.01
            down = w == "worker-1" and outage and T0 + outage[0] <= t0 < T0 + outage[1]
            cls = WORKER_DOWN if down else OK
            if w == lone and violating and t0 >= violating[0]:
                violating.pop(0)
                cls = INVALID_MODEL
            status = {OK: 200, INVALID_MODEL: 400}.get(cls)
            detail = "Invalid model name passed in model=x" if cls == INVALID_MODEL else None
            model = MODELS[0] if cls == INVALID_MODEL else MODELS[i % len(MODELS)]
            op_id = history.next_id()
            history.invoke(op_id, "chat", w, t0, model)  # as the engine writes it: invoke, then completion
            history.complete(Op(op_id, "ok" if cls == OK else "fail", "chat", w, t0, t0 + 0.02,
                                model=model, status=status, cls=cls, detail=detail))
        for i in range(int(seconds * 4)):
            t0 = T0 + i * 0.25
            down = w == "worker-1" and outage and T0 + outage[0] <= t0 < T0 + outage[1] - 1
            op_id = history.next_id()
            history.invoke(op_id, "readiness", w, t0)
            history.complete(Op(op_id, "fail" if down else "ok", "readiness", w, t0, t0 + 0.01,
                                status=None if down else 200, cls=WORKER_DOWN if down else OK))
    history.close()

    ctx = CheckContext(workers=names, models=MODELS, events=events, heal_t=T0 + seconds, end_t=T0 + seconds,
                       recovery_bound_s=20, propagation_bound_s=20, final_db_models=MODELS)
    verdict = verdict_of("S1", check_all(history.ops, ctx, ["no_invalid_model_strict", "no_model_lost"]), history.ops)
    verdict.stack = {"litellm_version": "1.82.3", "backend": "local", "prisma_query_engine": "synthetic"}
    verdict.evidence = str(path)
    verdict.traffic = {"rate_per_worker": rate_per_worker}
    (path / "verdict.json").write_text(json.dumps(verdict.to_json(), indent=2))
    (path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (path / "schedule.json").write_text(json.dumps({"name": "S1", "steps": [], "stack": {"replicas": workers}}))
    (path / "stack.json").write_text(json.dumps(verdict.stack))
    logs = path / "logs"
    logs.mkdir(exist_ok=True)
    lines = [f"INFO:     line {i}" for i in range(50)]
    for v in violations_at:
        stamp = _hms(WALL0 + v)
        lines.append(f"{stamp} - LiteLLM Proxy:ERROR: 400: Invalid model name passed in model={MODELS[0]}")
    (logs / f"{lone}.log").write_text("\n".join(lines) + "\n")
    return path


def _hms(wall: float) -> str:
    t = time.gmtime(wall)
    return f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
