"""Early decisions: when an invariant's outcome can no longer change, so a run can end then.

Each invariant names one of these in its registry entry (oracle.invariants); each is a pure
function (ops, ctx, read_back_s) -> (time, why), with ctx.end_t as "now" and ctx.heal_t the heal:
- at_recovery: when every (worker, model) pair has succeeded after the heal (pass), else at the
  recovery bound (fail);
- after_last("model_new", read_back=True) and friends: the last such change's 200 + the
  propagation bound (+ the read-back window for creates);
- after_quiet_listing: listing_consistent judges only polls a recovery bound after the last
  fault, so it needs that long after the heal (+ 2 s of polls);
- on_sight: answers that must never happen (an invalid model, a readiness lie, a stall, a model
  lost) are decided by what was seen up to the other decisions: they do not hold the run open.
A run ends at the latest of its contract invariants' decisions plus a short tail of probes."""

from __future__ import annotations

from typing import Callable

from chaos.oracle.classify import OK
from chaos.oracle.context import CheckContext
from chaos.oracle.ledger import ModelLedger
from chaos.run.history import Op

LISTING_TAIL_S = 2.0

# (ops, ctx, read_back_s) -> (time by which the invariant is decided, why); called after the heal
Decision = Callable[[list[Op], CheckContext, float], tuple[float, str]]


def on_sight(ops: list[Op], ctx: CheckContext, read_back_s: float) -> tuple[float, str]:
    return ctx.heal_t, "judged on what was seen"


def at_recovery(ops: list[Op], ctx: CheckContext, read_back_s: float) -> tuple[float, str]:
    deadline = ctx.heal_t + ctx.recovery_bound_s
    ledger = ModelLedger.of(ops, ctx.models)
    first_ok: dict[tuple, float] = {}
    for op in ops:
        if op.f == "chat" and op.via is None and op.cls == OK and op.t0 >= ctx.heal_t and ledger.valid(op.model, op.t0, op.t):
            first_ok.setdefault((op.worker, op.model), op.t)
    pairs = [(w, m) for w in ctx.workers for m in ledger.valid_throughout(ctx.heal_t, ctx.end_t)]
    if pairs and all(p in first_ok and first_ok[p] <= deadline for p in pairs):
        last = max(first_ok[p] for p in pairs)
        return last, f"every pair succeeded {last - ctx.heal_t:.1f} s after heal"
    return deadline, f"the recovery bound ({ctx.recovery_bound_s:.0f} s after heal)"


def after_last(change: str, read_back: bool = False) -> Decision:
    """Decided the propagation bound after the last successful `change` (an op name)."""
    def decision(ops: list[Op], ctx: CheckContext, read_back_s: float) -> tuple[float, str]:
        times = [op.t for op in ops if op.f == change and op.cls == OK]
        if not times:
            return ctx.heal_t, "no such change"
        extra = read_back_s if read_back else 0.0
        return max(times) + ctx.propagation_bound_s + extra, f"the propagation bound after the last {change}"
    return decision


def after_quiet_listing(ops: list[Op], ctx: CheckContext, read_back_s: float) -> tuple[float, str]:
    return ctx.heal_t + ctx.recovery_bound_s + LISTING_TAIL_S, "quiet polls a recovery bound after the heal"
