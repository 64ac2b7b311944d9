"""Invariants over what chat clients and readiness probes saw, as pure functions of the history
and the event log. Each returns an InvariantResult: pass / fail with its violations (worker,
model, the first and last offending operation, the faults active then), or `not_checked` when
the run did nothing the invariant speaks about (e.g. no /model/new: read-after-create).

An invariant that needed a definite answer and got only timeouts is `unknown` (what stayed
undetermined in its note); one that held but was not observed enough of its window is `unknown`
too (oracle.coverage). Every invariant is registered, with how it is decided, in
oracle.invariants."""

from __future__ import annotations

from chaos.oracle.classify import DB_UNAVAILABLE, INVALID_MODEL, OK, OTHER, definite
from chaos.oracle.context import (
    NOT_CHECKED,
    CheckContext,
    InvariantResult,
    ReadinessIndex,
    direct,
    marker,
    result,
)
from chaos.oracle.ledger import ModelLedger
from chaos.run.events import Event
from chaos.run.history import Op


def _valid_chats(ops: list[Op], ctx: CheckContext, via: str | None = None) -> list[Op]:
    ledger = ModelLedger.of(ops, ctx.models)
    return [op for op in ops if op.f == "chat" and op.via == via and ledger.valid(op.model, op.t0, op.t)]


def check_no_invalid_model_strict(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    bad = [op for op in _valid_chats(ops, ctx) if op.cls == INVALID_MODEL]
    return result("no_invalid_model_strict", "no valid model is ever answered 'Invalid model name' (at any time)", bad, ctx)


def check_no_invalid_model_ready_gated(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    ready = ReadinessIndex(ops)
    bad = [op for op in _valid_chats(ops, ctx)
           if op.cls == INVALID_MODEL and ready.ready_at(op.worker, op.t0, ctx.readiness_max_age_s)]
    return result("no_invalid_model_ready_gated",
                  "no valid model is answered 'Invalid model name' while that worker's readiness says 200", bad, ctx)


def check_readiness_truthful(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    ready = ReadinessIndex(ops)
    # answers only: a connection cut while a worker is being stopped says nothing about readiness
    bad = [op for op in _valid_chats(ops, ctx)
           if op.status is not None and op.cls in (INVALID_MODEL, DB_UNAVAILABLE, OTHER)
           and ready.ready_at(op.worker, op.t0, ctx.readiness_max_age_s)]
    return result("readiness_truthful", "a worker whose readiness is 200 serves every valid model", bad, ctx)


def check_client_invalid_model(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    name, desc = "client_invalid_model", "no valid model is answered 'Invalid model name' through the front door (what clients of the Service see)"
    if not ctx.front_door:
        return InvariantResult(name, desc, NOT_CHECKED, note="no traffic through a front door in this run")
    bad = [op for op in _valid_chats(ops, ctx, via="front_door") if op.cls == INVALID_MODEL]
    return result(name, desc, bad, ctx)


def check_recovery(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    """Every pair succeeds within the bound after heal. A pair fails only when it was seen failing
    (a definite answer: an error, an invalid model, a refused connection) at or after the bound
    with no success before it; one seen failing before the bound and succeeding only after it, with
    no probe in between to tell when it came back, or one that only timed out, is unknown: what it
    said does not prove it stuck (sparse probing, e.g. 140 models)."""
    name = "recovery"
    desc = f"after heal, every (worker, model) succeeds within {ctx.recovery_bound_s:.0f} s"
    if ctx.heal_t is None:
        return InvariantResult(name, desc, NOT_CHECKED, note="no heal in this run")
    deadline = ctx.heal_t + ctx.recovery_bound_s
    ledger = ModelLedger.of(ops, ctx.models)
    first_ok: dict[tuple, float] = {}
    after: dict[tuple, list[Op]] = {}
    for op in sorted(_valid_chats(ops, ctx), key=lambda o: o.t0):
        if op.t0 < ctx.heal_t:
            continue
        key = (op.worker, op.model)
        if op.cls == OK:
            first_ok.setdefault(key, op.t)
        elif key not in first_ok and definite(op):
            after.setdefault(key, []).append(op)
    bad, unknown = [], []
    pairs = [(w, m) for w in ctx.workers for m in ledger.valid_throughout(ctx.heal_t, min(deadline, ctx.end_t))]
    if ctx.end_t < deadline and not all(p in first_ok for p in pairs):  # a pair might still recover in time
        return InvariantResult(name, desc, NOT_CHECKED, note=f"run ended {deadline - ctx.end_t:.1f} s before the recovery bound")
    for worker, model in pairs:
        t = first_ok.get((worker, model))
        if t is not None and t <= deadline:
            continue
        failing = after.get((worker, model), [])
        if any(o.t0 >= deadline for o in failing):  # still failing past the bound: proven
            bad.extend(failing)
        else:
            unknown.append(f"{worker}/{model}")
    why = (f"{len(unknown)} pair(s) not seen past the bound without a success before it (timeouts only, or no probe "
           f"between a failure and a late success): {', '.join(unknown[:5])}" if unknown else "")
    failing_workers = sorted({op.worker for op in bad})
    return result(name, desc, bad, ctx, note=reload_evidence(ctx, failing_workers), unknown=why)


def reload_evidence(ctx: CheckContext, workers: list[str]) -> str:
    """What PostgreSQL's log says of each failing worker's reloads after the heal: a worker that
    never read its model table again attempted no reload (stuck), one that did reloaded and still
    failed. Said only where the log's model-table reads were recorded in this run at all."""
    if not workers or not ctx.events_of(Event.MODEL_TABLE_READ) or ctx.heal_t is None:
        return ""
    said = []
    for worker in workers:
        after = [e["t"] for e in ctx.events_of(Event.MODEL_TABLE_READ, worker) if e["t"] >= ctx.heal_t]
        said.append(f"{worker} read the model table {len(after)} time(s) after the heal, first "
                    f"{min(after) - ctx.heal_t:.1f} s after it, and still failed" if after else
                    f"{worker} never read the model table after the heal: no reload attempted (stuck)")
    return "PostgreSQL's log: " + "; ".join(said)


def check_read_after_create(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    """A client that created a model reads it back: on the worker it created it on, at once; through
    the front door (any replica may answer), on every read until the bound. And every worker serves
    it (a chat answered 200) within the bound."""
    creates = [op for op in ops if op.f == "model_new"]
    name = "read_after_create"
    desc = (f"after /model/new returns 200, /model/info shows it at once (on that worker; through the front door: "
            f"every read) and every worker serves it within {ctx.propagation_bound_s:.0f} s")
    if not creates:
        return InvariantResult(name, desc, NOT_CHECKED, note="no /model/new in this run")
    # a create answered with an error failed for the client; one that timed out may have happened
    bad: list[Op] = [op for op in creates if op.cls != OK and definite(op)]
    undecided = [op for op in creates if op.cls != OK and not definite(op)]
    infos = [op for op in ops if op.f == "model_info"]
    chats: dict[tuple, list[Op]] = {}
    for op in direct(ops):
        chats.setdefault((op.worker, op.model), []).append(op)
    for new in (op for op in creates if op.cls == OK):
        reads = [op for op in infos if op.worker == new.worker and op.model == new.model and op.t0 >= new.t]
        if new.via is None:
            reads = reads[:1]
        else:
            reads = [op for op in reads if op.t0 <= new.t + ctx.propagation_bound_s]
        bad.extend(op for op in reads if op.cls == OK and op.value is not True)
        for worker in ctx.workers:
            served = [op for op in chats.get((worker, new.model), []) if op.t0 >= new.t]
            oks = [op for op in served if op.cls == OK]
            first_ok = oks[0].t if oks else None
            if first_ok is None or first_ok - new.t > ctx.propagation_bound_s:
                misses = [op for op in served if op.cls != OK and definite(op) and op.t <= (first_ok or ctx.end_t)]
                if misses or any(definite(op) for op in served) or not served:
                    bad.extend(misses or [marker("chat", worker, new.t, new.model, "never_served")])
                else:
                    undecided.append(served[0])
    why = (f"{len(undecided)} create(s) or first reads timed out (outcome unknown): "
           + ", ".join(f"{op.f} {op.model} on {op.worker}" for op in undecided[:5])) if undecided else ""
    return result(name, desc, bad, ctx, unknown=why)


def check_no_model_lost(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    name, desc = "no_model_lost", "every seeded model not deleted is still in the DB (config models: not looked for there) and served at the end"
    if ctx.final_db_error is not None:  # after heal and recovery the DB must answer: not reading it is losing it
        bad = [marker("db_read", "postgres", ctx.end_t, None, "db_read_failed")]
        return result(name, desc, bad, ctx, note=f"the final read of the model table failed: {ctx.final_db_error}")
    if ctx.final_db_models is None:
        return InvariantResult(name, desc, NOT_CHECKED, note="the final DB read did not happen")
    ledger = ModelLedger.of(ops, ctx.models)
    kept = [m for m in ctx.models if m not in ledger.deletes and m not in ledger.unknown_from]
    missing = [m for m in kept if m not in ctx.final_db_models and m not in ctx.config_models]
    # the final round: a definite answer other than ok is a model not served; a pair that only
    # timed out (asked again, bounded, by the runner) stays unknown
    final = [o for o in direct(ops) if o.t0 >= ctx.end_t and o.model in kept]
    not_served = [op for op in final if op.cls != OK and definite(op)]
    answered = {(op.worker, op.model) for op in final if definite(op)}
    unanswered = sorted({f"{op.worker}/{op.model}" for op in final if (op.worker, op.model) not in answered})
    bad = not_served + [marker("db_read", "postgres", ctx.end_t, m, "missing_in_db") for m in missing]
    why = (f"{len(unanswered)} pair(s) gave no definite answer in the final round, asked again: {', '.join(unanswered[:5])}"
           if unanswered else "")
    return result(name, desc, bad, ctx, unknown=why)
