"""no_stall: while no fault is active, no chat for a valid model hangs. The bound comes from an
unloaded reference, never from a window measured while the machine was saturated:
max(stall_factor x the chat p99 calibrated for this version on an unloaded machine, stall_floor_s),
or stall_uncalibrated_s before any calibration. Not judged: chats overlapping a fault, the harness's
own blind spots, a worker's start (from its spawn to WARMUP_S after its first readiness 200), and
stretches of high CPU pressure (a queue on the CPU is not the gateway stalling). Where high
pressure covered more than MAX_PRESSURED_SHARE of the time no_stall would otherwise judge (the run
less its faults and the harness's blind spots: pressure during an outage hides nothing), too little
was judged: no_stall is unknown (a looser share than coverage's: a small machine sees pressure
spikes at every reload)."""

from __future__ import annotations

from chaos.oracle.classify import OK, TIMEOUT
from chaos.oracle.context import NOT_CHECKED, UNKNOWN, CheckContext, InvariantResult, overlaps, result
from chaos.oracle.coverage import subtract, total
from chaos.oracle.ledger import ModelLedger
from chaos.run.events import Event
from chaos.run.history import Op

MIN_BASELINE_SAMPLES = 20
# a freshly started worker is still warming up this long after its first readiness 200 (first
# requests through each code path, the other replica's start on the same CPU): not a stall
WARMUP_S = 5.0
MAX_PRESSURED_SHARE = 0.25


def baseline_p99(ops: list[Op], window: tuple[float, float]) -> float | None:
    """p99 of the ok direct chats inside `window` (None with fewer than MIN_BASELINE_SAMPLES)."""
    t0, t1 = window
    latencies = sorted(op.t - op.t0 for op in ops
                       if op.f == "chat" and op.via is None and op.cls == OK and t0 <= op.t0 and op.t <= t1)
    if len(latencies) < MIN_BASELINE_SAMPLES:
        return None
    return latencies[int(0.99 * (len(latencies) - 1))]


def _worker_windows(ctx: CheckContext) -> dict[str, list[tuple[float, float]]]:
    """Per worker, from each (re)spawn to WARMUP_S after its next readiness 200: starting, not stalling."""
    windows: dict[str, list[tuple[float, float]]] = {}
    for worker in ctx.workers:
        ready = [e["t"] + WARMUP_S for e in ctx.events_of(Event.WORKER_READY, worker)]
        for spawn in ctx.events_of(Event.WORKER_SPAWNED, worker):
            end = next((t for t in ready if t >= spawn["t"]), ctx.end_t)
            windows.setdefault(worker, []).append((spawn["t"], end))
    return windows


def check_no_stall(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    name = "no_stall"
    if ctx.baseline is None:
        return InvariantResult(name, "no chat stalls while no fault is active", NOT_CHECKED, note="no baseline window")
    ref = ctx.stall_reference_s
    bound = max(ctx.stall_factor * ref, ctx.stall_floor_s) if ref is not None else ctx.stall_uncalibrated_s
    source = (f"max({ctx.stall_factor:g} x unloaded p99 {ref * 1000:.0f} ms, {ctx.stall_floor_s * 1000:.0f} ms)" if ref is not None
              else "no unloaded reference calibrated for this version yet")
    desc = f"while no fault is active, no chat for a valid model takes longer than {bound * 1000:.0f} ms ({source})"
    ledger = ModelLedger.of(ops, ctx.models)
    faults = ctx.fault_windows()
    blind = [(e["t"], e["t"] + e.get("seconds", 0)) for e in ctx.events_of(Event.PROBE_STALL)]  # the harness itself lagged
    starting = _worker_windows(ctx)
    every_start = [w for ws in starting.values() for w in ws]
    bad = []
    for op in ops:
        if op.f != "chat" or op.cls not in (OK, TIMEOUT) or op.t - op.t0 <= bound or not ledger.valid(op.model, op.t0, op.t):
            continue
        worker = op.served_by if op.via else op.worker
        lifecycle = starting.get(worker, []) if worker else every_start
        if any(overlaps(op.t0, op.t, w) for w in (faults, blind, lifecycle, ctx.high_pressure)):
            continue
        bad.append(op)
    judged = subtract((ctx.baseline[0], ctx.end_t), faults + blind)  # where pressure could hide a stall
    window = total(judged)
    high = total([(max(a, s0), min(b, s1)) for s0, s1 in judged for a, b in ctx.high_pressure])
    note = (f"CPU pressure high for {high:.0f} s of the {window:.0f} s outside faults: chats then not judged"
            if high else "")
    if not bad and window > 0 and high / window > MAX_PRESSURED_SHARE:
        return InvariantResult(name, desc, UNKNOWN, note=note + f" (over {MAX_PRESSURED_SHARE:.0%})")
    return result(name, desc, bad, ctx, note=note)
