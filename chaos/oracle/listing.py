"""Invariants over the model state each worker shows: what it lists (/v1/models, /model/info)
and which parameters it serves with. LiteLLM 1.106+ answers a chat for a model its router lacks
by reading the DB (read-through), so a chat probe cannot see a reload that drops the models for
a moment, a delete or update that never reaches a worker, or slow propagation; these can."""

from __future__ import annotations

from dataclasses import replace

from chaos.oracle.classify import INVALID_MODEL, OK
from chaos.oracle.context import NOT_CHECKED, CheckContext, InvariantResult, ReadinessIndex, overlaps, result
from chaos.oracle.ledger import CHANGES, ModelLedger
from chaos.run.events import Event
from chaos.run.history import Op

LISTINGS = ("models", "model_info_list")  # /v1/models, /model/info


def _listings(ops: list[Op]) -> list[Op]:
    """Listing polls a worker answered (an error is not a listing)."""
    return [op for op in ops if op.f in LISTINGS and op.via is None and op.cls == OK and isinstance(op.value, list)]


def _unlisted(poll: Op, model: str) -> Op:
    return replace(poll, model=model, cls="not_listed")


def _handler(op: Op) -> str | None:
    """The worker that answered a management call (through the front door: the one it routed to)."""
    return op.served_by if op.via else op.worker


def check_listing_consistent(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    name = "listing_consistent"
    desc = ("with the DB healthy and nothing changing, every ready worker lists every valid model on every poll "
            "(/v1/models and /model/info)")
    polls = _listings(ops)
    if not polls:
        return InvariantResult(name, desc, NOT_CHECKED, note="no listing probes in this run")
    ledger, ready = ModelLedger.of(ops, ctx.models), ReadinessIndex(ops)
    faults = ctx.fault_windows()
    changes = [(op.t0, op.t) for op in ops if op.f in CHANGES]
    bad, judged = [], 0
    for poll in polls:
        # a fault and the recovery bound after it, a model change and its propagation bound: not "quiet"
        if overlaps(poll.t0, poll.t, faults, ctx.recovery_bound_s) or overlaps(poll.t0, poll.t, changes, ctx.propagation_bound_s):
            continue
        if not ready.ready_at(poll.worker, poll.t0, ctx.readiness_max_age_s):
            continue
        judged += 1
        bad.extend(_unlisted(poll, m) for m in sorted(ledger.expected(poll.t0, poll.t) - set(poll.value)))
    return result(name, desc, bad, ctx, note=f"{judged} of {len(polls)} polls judged (the rest fell in a fault or change window, "
                                            f"or the worker was not ready)")


def check_create_propagates(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    name = "create_propagates"
    desc = f"after /model/new returns 200, every worker lists the model within {ctx.propagation_bound_s:.0f} s"
    ledger = ModelLedger.of(ops, ctx.models)
    if not ledger.creates:
        return InvariantResult(name, desc, NOT_CHECKED, note="no model created in this run")
    polls = _by_worker_and_kind(_listings(ops))
    bad, late, unseen = [], 0, 0
    for new in ledger.creates:
        deadline = new.t + ctx.propagation_bound_s
        if ctx.end_t < deadline:
            late += 1
            continue
        if not ledger.valid(new.model, new.t, deadline):
            continue  # deleted (or changed with an unknown outcome) before the bound
        for worker in ctx.workers:
            for kind in LISTINGS:
                seen = [p for p in polls.get((worker, kind), []) if p.t0 >= new.t]
                if not any(p.t <= deadline for p in seen):
                    unseen += bool(polls.get((worker, kind)))  # no listing answered within the bound: cannot tell
                    continue
                first = next((p for p in seen if new.model in p.value), None)
                if first is None or first.t > deadline:
                    until = first.t if first else ctx.end_t
                    bad.extend(_unlisted(p, new.model) for p in seen if p.t <= until and new.model not in p.value)
    note = "; ".join(n for n in (f"{late} create(s) too close to the end to judge" if late else "",
                                 f"{unseen} (worker, listing) pair(s) answered no listing within the bound" if unseen else "") if n)
    return result(name, desc, bad, ctx, note=note)


def check_delete_propagates(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    name = "delete_propagates"
    desc = (f"after /model/delete returns 200, the worker that deleted it at once and every other worker within "
            f"{ctx.propagation_bound_s:.0f} s stop serving and listing the model")
    ledger = ModelLedger.of(ops, ctx.models)
    if not ledger.deletes:
        return InvariantResult(name, desc, NOT_CHECKED, note="no model deleted in this run")
    polls = _listings(ops)
    chats = [op for op in ops if op.f == "chat" and op.cls == OK]
    bad, late = [], 0
    for model, d in ledger.deletes.items():
        if ctx.end_t < d.t + ctx.propagation_bound_s:
            late += 1
            continue

        def still_there(op: Op) -> bool:
            worker = _handler(op)
            return op.t0 > (d.t if worker == _handler(d) else d.t + ctx.propagation_bound_s)

        bad.extend(replace(op, cls="still_served") for op in chats if op.model == model and still_there(op))
        bad.extend(replace(p, model=model, cls="still_listed") for p in polls if model in p.value and still_there(p))
    note = f"{late} delete(s) too close to the end to judge" if late else ""
    return result(name, desc, bad, ctx, note=note)


def check_update_propagates(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    name = "update_propagates"
    desc = (f"after /model/update returns 200, the worker that updated it at once and every other worker within "
            f"{ctx.propagation_bound_s:.0f} s serve the model with the new parameters")
    ledger = ModelLedger.of(ops, ctx.models)
    if not ledger.updates:
        return InvariantResult(name, desc, NOT_CHECKED, note="no model updated in this run")
    chats = [op for op in ops if op.f == "chat" and op.cls == OK and op.value is not None]
    bad, late = [], 0
    for model, updates in ledger.updates.items():
        for i, u in enumerate(updates):
            if ctx.end_t < u.t + ctx.propagation_bound_s:
                late += 1
                continue
            until = updates[i + 1].t0 if i + 1 < len(updates) else float("inf")
            for op in chats:
                if op.model != model or op.t >= until or op.value == u.value:
                    continue
                since = u.t if _handler(op) == _handler(u) else u.t + ctx.propagation_bound_s
                if op.t0 > since:
                    bad.append(replace(op, cls="old_parameters"))
    note = f"{late} update(s) too close to the end to judge" if late else ""
    return result(name, desc, bad, ctx, note=note)


def check_models_loaded_before_ready(ops: list[Op], ctx: CheckContext) -> InvariantResult:
    """After a (re)start, a worker's first readiness 200 must come only once it serves or lists
    every valid model: an answer sent after that 200 arrived that still shows a model missing,
    before the model was ever served or listed there since the start, means readiness came first."""
    name = "models_loaded_before_ready"
    desc = "a restarted worker's first readiness 200 comes only after it has served or listed every valid model"
    if not ops:
        return InvariantResult(name, desc, NOT_CHECKED, note="empty history")
    t_first = min(op.t0 for op in ops)
    ledger = ModelLedger.of(ops, ctx.models)
    bad, judged = [], 0
    for worker in ctx.workers:
        spawns = [e["t"] for e in ctx.events_of(Event.WORKER_SPAWNED, worker) if e["t"] > t_first]
        mine = sorted((op for op in ops if op.worker == worker and op.via is None), key=lambda o: o.t0)
        for i, spawned in enumerate(spawns):
            next_spawn = spawns[i + 1] if i + 1 < len(spawns) else float("inf")
            life = [op for op in mine if spawned < op.t0 < next_spawn]
            ready = next((op for op in life if op.f == "readiness" and op.status == 200), None)
            if ready is None:
                continue
            judged += 1
            bad.extend(_shown_missing_after(life, ready, ledger))
    note = f"{judged} restart(s) judged" if judged else "no worker became ready after a restart in this run"
    if not judged:
        return InvariantResult(name, desc, NOT_CHECKED, note=note)
    return result(name, desc, bad, ctx, note=note)


def _shown_missing_after(life: list[Op], ready: Op, ledger: ModelLedger) -> list[Op]:
    """Observations sent after `ready` arrived that show a valid model missing, before the first
    one that showed it there (since the spawn)."""
    seen: set[str] = set()
    missing = []
    for op in life:  # in invoke order
        if op.f == "chat" and op.model:
            if op.cls == OK:
                seen.add(op.model)
            elif op.cls == INVALID_MODEL and op.t0 > ready.t and op.model not in seen and ledger.valid(op.model, op.t0, op.t):
                missing.append(op)
        elif op.f in LISTINGS and op.cls == OK and isinstance(op.value, list):
            listed = set(op.value)
            if op.t0 > ready.t:
                missing.extend(_unlisted(op, m) for m in sorted(ledger.expected(op.t0, op.t) - listed - seen))
            seen |= listed
    return missing


def _by_worker_and_kind(polls: list[Op]) -> dict[tuple[str, str], list[Op]]:
    out: dict[tuple[str, str], list[Op]] = {}
    for p in sorted(polls, key=lambda o: o.t0):
        out.setdefault((p.worker, p.f), []).append(p)
    return out
