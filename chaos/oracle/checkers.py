"""Invariants as pure functions over the operation history and the event log.

Each checker returns an InvariantResult: pass / fail with its violations (worker, model, the first
and last offending operation, the faults active then), or `not_checked` when the run did nothing
the invariant speaks about (e.g. no /model/new: read-after-create is not checked)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from ..history import Op
from .classify import DB_UNAVAILABLE, INVALID_MODEL, OK, OTHER

PASS, FAIL, NOT_CHECKED = "pass", "fail", "not_checked"


@dataclass
class CheckContext:
    workers: list[str]
    models: list[str]  # valid from the start (seeded)
    events: list[dict]
    heal_t: float | None  # when the final heal-all completed
    end_t: float  # end of the run
    recovery_bound_s: float  # after heal, every pair must succeed within this
    propagation_bound_s: float  # after /model/new, every worker must serve the model within this
    final_db_models: list[str] | None = None  # model names in the DB at the end (no model lost)
    readiness_max_age_s: float = 2.0  # a readiness answer counts for this long

    def faults_active(self, t: float) -> list[str]:
        """Faults applied and not yet healed at monotonic time t."""
        active: dict[str, str] = {}
        for e in sorted(self.events, key=lambda e: e["t"]):  # backdated events may be out of order
            if e["t"] > t:
                break
            if e["kind"] == "fault_applied" and not e.get("instant"):
                active[e["step"]] = e["fault"]
            elif e["kind"] in ("fault_healed",):
                active.pop(e["step"], None)
        return list(active.values())


@dataclass
class Violation:
    worker: str
    model: str | None
    count: int
    first: dict
    last: dict
    faults_active: list[str]

    def to_json(self) -> dict:
        return self.__dict__


@dataclass
class InvariantResult:
    name: str
    description: str
    status: str
    violations: list[Violation] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "description": self.description, "status": self.status, "note": self.note,
                "violations": [v.to_json() for v in self.violations]}

    @property
    def first_violation(self) -> Violation | None:
        return min(self.violations, key=lambda v: v.first["t"], default=None)


def _op_brief(op: Op) -> dict:
    d = {"id": op.id, "t": op.t, "f": op.f, "worker": op.worker, "cls": op.cls, "status": op.status}
    if op.model:
        d["model"] = op.model
    if op.detail:
        d["detail"] = op.detail[:200]
    return d


def _group(ops: list[Op], ctx: CheckContext) -> list[Violation]:
    by_pair: dict[tuple, list[Op]] = {}
    for op in ops:
        by_pair.setdefault((op.worker, op.model), []).append(op)
    return [
        Violation(w, m, len(g), _op_brief(g[0]), _op_brief(g[-1]), ctx.faults_active(g[0].t))
        for (w, m), g in sorted(by_pair.items(), key=lambda kv: kv[1][0].t)
    ]


def _valid_models(ops: list[Op], ctx: CheckContext) -> dict[str, float]:
    """Model -> the time from which it is valid: seeded ones always, created ones from their 200."""
    valid = {m: float("-inf") for m in ctx.models}
    for op in ops:
        if op.f == "model_new" and op.cls == OK and op.model not in valid:
            valid[op.model] = op.t
    return valid


class ReadinessIndex:
    """Answers: what did this worker's readiness last say before time t?"""

    def __init__(self, ops: list[Op]):
        self._times: dict[str, list[float]] = {}
        self._status: dict[str, list[int | None]] = {}
        for op in sorted((o for o in ops if o.f == "readiness"), key=lambda o: o.t):
            self._times.setdefault(op.worker, []).append(op.t)
            self._status.setdefault(op.worker, []).append(op.status)

    def ready_at(self, worker: str, t: float, max_age: float) -> bool:
        times = self._times.get(worker, [])
        i = bisect.bisect_right(times, t) - 1
        return i >= 0 and t - times[i] <= max_age and self._status[worker][i] == 200


def _chat_ops(ops: list[Op], ctx: CheckContext) -> list[tuple[Op, bool]]:
    valid = _valid_models(ops, ctx)
    return [(op, op.model in valid and op.t0 >= valid[op.model]) for op in ops if op.f == "chat"]


def check_no_invalid_model_strict(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    bad = [op for op, valid in _chat_ops(ops, ctx) if valid and op.cls == INVALID_MODEL]
    return InvariantResult("no_invalid_model_strict", "no valid model is ever answered 'Invalid model name' (at any time)",
                           FAIL if bad else PASS, _group(bad, ctx))


def check_no_invalid_model_ready_gated(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    ready = ReadinessIndex(ops)
    bad = [op for op, valid in _chat_ops(ops, ctx)
           if valid and op.cls == INVALID_MODEL and ready.ready_at(op.worker, op.t0, ctx.readiness_max_age_s)]
    return InvariantResult("no_invalid_model_ready_gated",
                           "no valid model is answered 'Invalid model name' while that worker's readiness says 200",
                           FAIL if bad else PASS, _group(bad, ctx))


def check_readiness_truthful(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    ready = ReadinessIndex(ops)
    # answers only: a connection cut while a worker is being stopped says nothing about readiness
    bad = [op for op, valid in _chat_ops(ops, ctx)
           if valid and op.status is not None and op.cls in (INVALID_MODEL, DB_UNAVAILABLE, OTHER)
           and ready.ready_at(op.worker, op.t0, ctx.readiness_max_age_s)]
    return InvariantResult("readiness_truthful", "a worker whose readiness is 200 serves every valid model",
                           FAIL if bad else PASS, _group(bad, ctx))


def check_recovery(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    if ctx.heal_t is None:
        return InvariantResult("recovery", "after heal, every (worker, model) succeeds within the bound", NOT_CHECKED,
                               note="no heal in this run")
    deadline = ctx.heal_t + ctx.recovery_bound_s
    if ctx.end_t < deadline:
        return InvariantResult("recovery", "after heal, every (worker, model) succeeds within the bound", NOT_CHECKED,
                               note=f"run ended {deadline - ctx.end_t:.1f} s before the recovery bound")
    first_ok: dict[tuple, float] = {}
    after: dict[tuple, list[Op]] = {}
    for op, valid in _chat_ops(ops, ctx):
        if not valid or op.t0 < ctx.heal_t:
            continue
        key = (op.worker, op.model)
        if op.cls == OK:
            first_ok.setdefault(key, op.t)
        elif key not in first_ok:
            after.setdefault(key, []).append(op)
    bad = []
    for worker in ctx.workers:
        for model in ctx.models:
            t = first_ok.get((worker, model))
            if t is None or t > deadline:
                failing = [o for o in after.get((worker, model), []) if o.t <= (t or ctx.end_t)]
                if failing:
                    bad.extend(failing)
                else:  # no answer at all after heal
                    bad.append(Op(id=0, type="info", f="chat", worker=worker, t0=ctx.heal_t, t=ctx.heal_t, model=model, cls="no_ok_answer"))
    return InvariantResult("recovery", f"after heal, every (worker, model) succeeds within {ctx.recovery_bound_s:.0f} s",
                           FAIL if bad else PASS, _group(bad, ctx))


def check_read_after_create(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    creates = [op for op in ops if op.f == "model_new"]
    created = [op for op in creates if op.cls == OK]
    name = "read_after_create"
    desc = (f"after /model/new returns 200, /model/info on the same worker shows it at once and every worker "
            f"serves it within {ctx.propagation_bound_s:.0f} s")
    if not creates:
        return InvariantResult(name, desc, NOT_CHECKED, note="no /model/new in this run")
    # a create that never returned 200 (error or timeout) is a failed create for the client
    bad: list[Op] = [op for op in creates if op.cls != OK]
    infos = [op for op in ops if op.f == "model_info"]
    for new in created:
        reads = [op for op in infos if op.worker == new.worker and op.model == new.model and op.t0 >= new.t]
        if reads and reads[0].value is not True:
            bad.append(reads[0])
        for worker in ctx.workers:
            served = [op for op in ops if op.f == "chat" and op.worker == worker and op.model == new.model and op.t0 >= new.t]
            oks = [op for op in served if op.cls == OK]
            first_ok = oks[0].t if oks else None
            if first_ok is None or first_ok - new.t > ctx.propagation_bound_s:
                misses = [op for op in served if op.cls != OK and op.t <= (first_ok or ctx.end_t)]
                bad.extend(misses or [Op(id=0, type="info", f="chat", worker=worker, t0=new.t, t=new.t, model=new.model, cls="never_served")])
    return InvariantResult(name, desc, FAIL if bad else PASS, _group(bad, ctx))


def check_no_model_lost(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    name, desc = "no_model_lost", "every seeded model is still in the DB and served at the end"
    if ctx.final_db_models is None:
        return InvariantResult(name, desc, NOT_CHECKED, note="the final DB read did not happen")
    missing = [m for m in ctx.models if m not in ctx.final_db_models]
    finals = [op for op in ops if op.f == "chat" and op.t0 >= ctx.end_t]
    not_served = [op for op in finals if op.model in ctx.models and op.cls != OK]
    bad = not_served + [Op(id=0, type="fail", f="db_read", worker="postgres", t0=ctx.end_t, t=ctx.end_t, model=m, cls="missing_in_db")
                        for m in missing]
    return InvariantResult(name, desc, FAIL if bad else PASS, _group(bad, ctx))


CHECKERS = {
    "no_invalid_model_strict": check_no_invalid_model_strict,
    "no_invalid_model_ready_gated": check_no_invalid_model_ready_gated,
    "readiness_truthful": check_readiness_truthful,
    "recovery": check_recovery,
    "read_after_create": check_read_after_create,
    "no_model_lost": check_no_model_lost,
}


def check_all(ops: list[Op], ctx: CheckContext, names: list[str] | None = None) -> list[InvariantResult]:
    return [CHECKERS[n](ops, ctx) for n in (names or list(CHECKERS))]
