"""Early decisions: when each invariant's outcome can no longer change, so a run can end then.

decided_by(name, ops, ctx) is the time by which `name` is decided, given the history so far
(ctx.end_t is "now"; the run's heal is ctx.heal_t):
- recovery: when every (worker, model) pair has succeeded after the heal (pass), else at the
  recovery bound (fail);
- read_after_create / create_propagates: the last create's 200 + the propagation bound (+ the
  read-back window); delete_propagates / update_propagates: the last such change + the bound;
- listing_consistent: it judges only polls a recovery bound after the last fault, so it needs
  that long after the heal (+ 2 s of polls);
- the rest (answers that must never happen: invalid_model, a readiness lie, a stall, a model lost)
  are decided by what was seen up to the other decisions: they do not hold the run open.
A run ends at the latest of its contract invariants' decisions plus a short tail of probes."""

from __future__ import annotations

from chaos.oracle.classify import OK
from chaos.oracle.context import CheckContext
from chaos.oracle.ledger import ModelLedger
from chaos.run.history import Op

LISTING_TAIL_S = 2.0


def _recovered_by(ops: list[Op], ctx: CheckContext) -> tuple[float, str]:
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


def _last_change(ops: list[Op], f: str) -> float | None:
    times = [op.t for op in ops if op.f == f and op.cls == OK]
    return max(times) if times else None


def decided_by(name: str, ops: list[Op], ctx: CheckContext, read_back_s: float = 0.0) -> tuple[float, str]:
    """(time, why) by which the invariant `name` is decided."""
    if ctx.heal_t is None:
        return ctx.end_t, "no heal yet"
    if name == "recovery":
        return _recovered_by(ops, ctx)
    change = {"read_after_create": "model_new", "create_propagates": "model_new", "delete_propagates": "model_delete",
              "update_propagates": "model_update"}.get(name)
    if change is not None:
        last = _last_change(ops, change)
        if last is None:
            return ctx.heal_t, "no such change"
        extra = read_back_s if change == "model_new" else 0.0
        return last + ctx.propagation_bound_s + extra, f"the propagation bound after the last {change}"
    if name == "listing_consistent":
        return ctx.heal_t + ctx.recovery_bound_s + LISTING_TAIL_S, "quiet polls a recovery bound after the heal"
    return ctx.heal_t, "judged on what was seen"
