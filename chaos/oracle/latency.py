"""no_stall: while no fault is active, no chat for a valid model hangs. The bound comes from the
run's own baseline window (before any fault): max(stall_factor x its p99, stall_floor_s), so a
slow machine does not fail a correct gateway and a stall is judged against what was normal here.
Not judged: chats overlapping a fault, the harness's own blind spots, and a worker's start (from
its spawn to WARMUP_S after its first readiness 200)."""

from __future__ import annotations

from ..history import Op
from .classify import OK, TIMEOUT
from .context import NOT_CHECKED, CheckContext, InvariantResult, overlaps, result
from .ledger import ModelLedger

MIN_BASELINE_SAMPLES = 20
# a freshly started worker is still warming up this long after its first readiness 200 (first
# requests through each code path, the other replica's start on the same CPU): not a stall
WARMUP_S = 5.0


def baseline_p99(ops: list[Op], ctx: CheckContext) -> float | None:
    t0, t1 = ctx.baseline
    latencies = sorted(op.t - op.t0 for op in ops
                       if op.f == "chat" and op.via is None and op.cls == OK and t0 <= op.t0 and op.t <= t1)
    if len(latencies) < MIN_BASELINE_SAMPLES:
        return None
    return latencies[int(0.99 * (len(latencies) - 1))]


def _worker_windows(ctx: CheckContext) -> dict[str, list[tuple[float, float]]]:
    """Per worker, from each (re)spawn to WARMUP_S after its next readiness 200: starting, not stalling."""
    windows: dict[str, list[tuple[float, float]]] = {}
    for worker in ctx.workers:
        ready = [e["t"] + WARMUP_S for e in ctx.events_of("worker_ready", worker)]
        for spawn in ctx.events_of("worker_spawned", worker):
            end = next((t for t in ready if t >= spawn["t"]), ctx.end_t)
            windows.setdefault(worker, []).append((spawn["t"], end))
    return windows


def check_no_stall(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    name = "no_stall"
    if ctx.baseline is None:
        return InvariantResult(name, "no chat stalls while no fault is active", NOT_CHECKED, note="no baseline window")
    p99 = baseline_p99(ops, ctx)
    if p99 is None:
        return InvariantResult(name, "no chat stalls while no fault is active", NOT_CHECKED,
                               note=f"fewer than {MIN_BASELINE_SAMPLES} ok chats in the baseline window")
    bound = max(ctx.stall_factor * p99, ctx.stall_floor_s)
    desc = (f"while no fault is active, no chat for a valid model takes longer than {bound * 1000:.0f} ms "
            f"(max({ctx.stall_factor:g} x baseline p99 {p99 * 1000:.0f} ms, {ctx.stall_floor_s * 1000:.0f} ms))")
    ledger = ModelLedger.of(ops, ctx.models)
    faults = ctx.fault_windows()
    blind = [(e["t"], e["t"] + e.get("seconds", 0)) for e in ctx.events_of("probe_stall")]  # the harness itself lagged
    starting = _worker_windows(ctx)
    every_start = [w for ws in starting.values() for w in ws]
    bad = []
    for op in ops:
        if op.f != "chat" or op.cls not in (OK, TIMEOUT) or op.t - op.t0 <= bound or not ledger.valid(op.model, op.t0, op.t):
            continue
        worker = op.served_by if op.via else op.worker
        lifecycle = starting.get(worker, []) if worker else every_start
        if overlaps(op.t0, op.t, faults) or overlaps(op.t0, op.t, blind) or overlaps(op.t0, op.t, lifecycle):
            continue
        bad.append(op)
    return result(name, desc, bad, ctx)
