"""The mutant gateways of `chaos selftest`: the installed LiteLLM with one deliberate behaviour
change each (chaos/mutants/hook.py holds the patches), and the scenario that must catch it.

Every mutant is built on the fixed build of #26237 (readiness 503 until the DB models were
loaded once, DB setup retried in the background), which passes every scenario it is run on, so
each mutant differs from a passing gateway by exactly one bug: when its scenario fails, that bug
is what the suite caught."""

from __future__ import annotations

from dataclasses import dataclass

from chaos.errors import UsageError

CAUGHT, PASSES = "caught", "passes"
FIX = ("readiness_gate", "db_setup_retry")


@dataclass(frozen=True)
class Mutant:
    name: str
    patches: tuple[str, ...]
    change: str  # the deliberate behaviour change, in one line
    scenarios: tuple[str, ...]  # each must catch it (a fixed build: each must pass)
    expect: str = CAUGHT
    quick: bool = False  # in `chaos selftest --quick` (CI), with its first scenario only


MUTANTS = {m.name: m for m in (
    Mutant("fixed", FIX, "a fix of #26237: readiness 503 until the DB models were loaded once; DB setup retried "
                         "in the background after a failed start", ("S1", "S2", "S5", "S10", "S11", "S12"), PASSES, quick=True),
    Mutant("readiness-lies", ("db_setup_retry", "readiness_lies"),
           "readiness answers 200 before the DB models are loaded", ("S1",)),
    Mutant("evict-on-failed-read", (*FIX, "evict_on_failed_read"),
           "a failed model read at reload evicts every DB model from the router", ("S5",)),
    Mutant("non-atomic-reload", (*FIX, "non_atomic_reload"),
           "every reload drops the DB models from the router for 300 ms, then re-adds them", ("S11",), quick=True),
    Mutant("reload-dies", (*FIX, "reload_dies_after_failure"),
           "the reload job removes itself after its first failed reload", ("S10",)),
    Mutant("reload-dies-on-one-worker", (*FIX, "reload_dies_on_one_worker"),
           "the reload job of the first worker whose reload fails removes itself; the others keep reloading", ("S10",)),
    Mutant("reload-dies-on-worker-1", (*FIX, "reload_dies_on_worker_1"),
           "worker-1's reload job removes itself after a failed reload (worker-2's keeps going)", ("S10",)),
    Mutant("reload-dies-on-worker-2", (*FIX, "reload_dies_on_worker_2"),
           "worker-2's reload job removes itself after a failed reload (worker-1's keeps going)", ("S10",)),
    Mutant("slow-propagation", (*FIX, "slow_propagation"),
           "the reload job runs 10 times less often than configured", ("S12",)),
    Mutant("deletes-never-propagate", (*FIX, "deletes_never_propagate"),
           "a reload never evicts a model deleted in the DB (only the deleting worker drops it)", ("S12",)),
    Mutant("updates-never-propagate", (*FIX, "updates_never_propagate"),
           "a reload never applies changed parameters to a model already loaded", ("S10",)),
)}


def get(name: str) -> Mutant:
    if name not in MUTANTS:
        raise UsageError(f"unknown mutant {name!r}; expected one of: {', '.join(MUTANTS)}")
    return MUTANTS[name]
