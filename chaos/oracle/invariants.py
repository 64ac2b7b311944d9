"""The registry of invariants: each declared once, with what it says, the pure function that
checks it, when its outcome is decided (oracle.decide), and how `chaos explore` judges it.
Everything else is derived from here: CHECKERS, early decisions, explore's contract, the
invariant table in docs/scenarios-and-oracle.md (`python -m chaos.oracle.invariants` prints it;
tests/test_readme.py holds the page to it).

check_safe is Jepsen's check-safe: a checker that raises gives `unknown` for its invariant, with
the error, never a lost verdict."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Callable

from chaos.oracle import decide
from chaos.oracle.checkers import (
    check_client_invalid_model,
    check_no_invalid_model_ready_gated,
    check_no_invalid_model_strict,
    check_no_model_lost,
    check_read_after_create,
    check_readiness_truthful,
    check_recovery,
)
from chaos.oracle.context import ADVISORY, CONTRACT, PASS, UNKNOWN, CheckContext, InvariantResult
from chaos.oracle.coverage import coverage, decide_coverage
from chaos.oracle.latency import check_no_stall
from chaos.oracle.listing import (
    check_create_propagates,
    check_delete_propagates,
    check_listing_consistent,
    check_models_loaded_before_ready,
    check_update_propagates,
)
from chaos.run.history import Op

Checker = Callable[[list[Op], CheckContext], InvariantResult]


@dataclass(frozen=True)
class Invariant:
    name: str
    says: str  # one sentence for people: the docs table
    check: Checker  # a pure function of the history and the run's context
    decided: decide.Decision  # when its outcome can no longer change, so a run can end
    explore: str  # its role in `chaos explore`'s generated schedules: CONTRACT or ADVISORY


INVARIANTS = (
    Invariant("no_invalid_model_strict",
              'no valid model is ever answered "Invalid model name"',
              check_no_invalid_model_strict, decide.on_sight, ADVISORY),
    Invariant("no_invalid_model_ready_gated",
              "... while that worker's readiness says 200",
              check_no_invalid_model_ready_gated, decide.on_sight, CONTRACT),
    Invariant("readiness_truthful",
              "a worker whose readiness is 200 serves every valid model",
              check_readiness_truthful, decide.on_sight, CONTRACT),
    Invariant("client_invalid_model",
              'no valid model is answered "Invalid model name" through the front door',
              check_client_invalid_model, decide.on_sight, CONTRACT),
    Invariant("recovery",
              "after heal, every (worker, model) succeeds within the bound (one reload interval + 5 s, at least "
              "30 s: a reconnect already under way when the DB comes back fails only at the engine's connect "
              "timeout, 13-15 s on a loaded 2-core machine, before the next one can succeed; 35 s on 1.82.3, "
              "30 s where the interval is 5 s)",
              check_recovery, decide.at_recovery, CONTRACT),
    Invariant("read_after_create",
              "after `/model/new` returns 200, `/model/info` shows it at once (on that worker; through the front "
              "door: every read until the bound) and every worker serves it within the bound",
              check_read_after_create, decide.after_last("model_new", read_back=True), CONTRACT),
    Invariant("create_propagates",
              "... and every worker *lists* it within the propagation bound (a chat may be answered by read-through)",
              check_create_propagates, decide.after_last("model_new", read_back=True), CONTRACT),
    Invariant("delete_propagates",
              "after `/model/delete` returns 200, the deleting worker at once and every other worker within the "
              "bound stop serving and listing it (a 400 for it is then correct: a deleted model leaves the valid "
              "set at its delete)",
              check_delete_propagates, decide.after_last("model_delete"), CONTRACT),
    Invariant("update_propagates",
              "after `/model/update` returns 200, every worker serves the new parameters within the bound (the "
              "upstream route in each answer)",
              check_update_propagates, decide.after_last("model_update"), CONTRACT),
    Invariant("listing_consistent",
              "with the DB healthy and nothing changing (outside fault windows + the recovery bound, and model "
              "changes + the propagation bound), every ready worker lists every valid model on every poll, in "
              "`/v1/models` and `/model/info`",
              check_listing_consistent, decide.after_quiet_listing, ADVISORY),
    Invariant("models_loaded_before_ready",
              "a restarted worker's first readiness 200 comes only after it served or listed every valid model",
              check_models_loaded_before_ready, decide.on_sight, CONTRACT),
    Invariant("no_stall",
              "while no fault is active, no chat for a valid model takes longer than max(10 x the chat p99 "
              "calibrated for this version on an unloaded machine, 1 s), 1 s before any calibration, never from a "
              "window measured while the machine was saturated (worker starts, the harness's own blind spots and "
              "stretches of CPU pressure over 40 % excepted; `unknown` where such pressure covered more than a "
              "quarter of the time it judges: the run outside faults and blind spots, since pressure during an "
              "outage hides nothing)",
              check_no_stall, decide.on_sight, ADVISORY),
    Invariant("no_model_lost",
              "every seeded model not deleted is still in the DB and served at the end (a pair that only timed out "
              "in the final round, asked again, is `unknown`, never lost)",
              check_no_model_lost, decide.on_sight, CONTRACT),
)
BY_NAME = {i.name: i for i in INVARIANTS}
CHECKERS = {i.name: i.check for i in INVARIANTS}
EXPLORE_CONTRACT = tuple(i.name for i in INVARIANTS if i.explore == CONTRACT)
EXPLORE_ADVISORY = tuple(i.name for i in INVARIANTS if i.explore == ADVISORY)


def decided_by(name: str, ops: list[Op], ctx: CheckContext, read_back_s: float = 0.0) -> tuple[float, str]:
    """(time, why) by which the invariant `name` is decided, given the history so far."""
    if ctx.heal_t is None:
        return ctx.end_t, "no heal yet"
    return BY_NAME[name].decided(ops, ctx, read_back_s)


def check_safe(name: str, ops: list[Op], ctx: CheckContext) -> InvariantResult:
    """The invariant's result, its coverage judged; a checker that raises gives `unknown`."""
    try:
        r = CHECKERS[name](ops, ctx)
        if ctx.plan is not None:
            r.coverage = coverage(name, ops, ctx, ctx.plan)
            blind = decide_coverage(r.coverage, ctx.max_blind_share)
            if r.status == PASS and blind:  # it held where it was seen: not enough to call it a pass
                r.status, r.note = UNKNOWN, "; ".join(n for n in (blind, r.note) if n)
        return r
    except Exception as exc:  # noqa: BLE001 - a checker bug must not lose the verdict
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return InvariantResult(name, "(checker raised)", UNKNOWN,
                               error=f"{type(exc).__name__}: {exc} (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})")


def check_all(ops: list[Op], ctx: CheckContext, contract: list[str] | None = None,
              advisory: list[str] | None = None) -> list[InvariantResult]:
    """Every invariant named, each with its role; with no names at all, every invariant as contract."""
    if contract is None and advisory is None:
        contract = list(CHECKERS)
    results = []
    for role, names in ((CONTRACT, contract or []), (ADVISORY, advisory or [])):
        for name in names:
            r = check_safe(name, ops, ctx)
            r.role = role
            results.append(r)
    return results


def markdown_table() -> str:
    """The invariant table of docs/scenarios-and-oracle.md."""
    rows = [f"| `{i.name}` | {i.says} |" for i in INVARIANTS]
    return "\n".join(["| invariant | what it says |", "|---|---|", *rows])


if __name__ == "__main__":
    print(markdown_table())
