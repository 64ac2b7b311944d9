"""Expected outcomes per (scenario, LiteLLM version), recorded from observed runs, with the reason.

An invariant that `fails` failed in every observed run because of a known upstream behaviour: its
test is xfail(strict=True), so CI goes red when the behaviour changes in either direction (fixed,
or broken differently). One that is `flaky` was observed both failing and passing: a non-strict
xfail, so it is reported but does not decide. Runs observed on this project's 2-core machine, warm
stacks, early decisions, cold and (since 2026-12-04) forked worker starts, which gave the same
outcomes, with the offline Prisma engine stand-in (PRISMA_QUERY_ENGINE_BINARY);
connection-failure details may differ with the native engine, and the create scenarios (S8, S13)
depend on load: a faster machine may pass them."""

from __future__ import annotations

from dataclasses import dataclass

FAILS = "fails"
FLAKY = "flaky"


@dataclass(frozen=True)
class Expectation:
    kind: str  # FAILS or FLAKY
    reason: str


def fails(reason: str, *invariants: str) -> dict[str, Expectation]:
    return {inv: Expectation(FAILS, reason) for inv in invariants}


def flaky(reason: str, *invariants: str) -> dict[str, Expectation]:
    return {inv: Expectation(FLAKY, reason) for inv in invariants}


ISSUE = "LiteLLM #26237"
STUCK = (
    f"{ISSUE}: a worker that starts while its DB path is broken drops its Prisma client, never schedules "
    "the model reload, and answers 400 'Invalid model name' for every model, readiness 200, until restarted"
)
STUCK_DB_ONLY_SETTING = (
    f"{ISSUE}: with store_model_in_db set only in the DB, a failed settings read at start leaves the "
    "worker without DB models and without the reload job: 400 'Invalid model name', readiness 200, until restarted"
)
FIRST_MODEL_QUERY_FAILS = (
    f"{ISSUE}: connect and SELECT 1 succeed but the first model query hangs on the locked table; the worker "
    "says ready and answers 400 'Invalid model name' until its next reload (30 s, hard-coded in 1.82.3)"
)
READY_BEFORE_MODELS = (
    "readiness 200 while the model table is locked: the restarted worker lists none of the DB models "
    "(chats are answered through its read-through of the DB) until the lock is released"
)
INVALID_MODEL_DURING_OUTAGE = (
    f"{ISSUE}, partly fixed since 1.106: while its DB is unreachable at start the worker answers 400 "
    "'Invalid model name' with readiness 200; it recovers within the bound after the DB returns"
)
NEW_MODEL_NOT_ON_OTHER_WORKERS = (
    f"{ISSUE} (sibling): /model/new refreshes only the worker that handled it; the others answer 400 "
    "'Invalid model name' for the new model until their next reload (30 s in 1.82.3)"
)
SLOW_PARALLEL_CREATES = (
    f"{ISSUE} (sibling): 50 parallel /model/new calls are served one after the other; on this 2-core "
    "machine some take over 60 s (the front door's 504) and some new models reach the other workers "
    "later than the bound. Under the load budget (2026-12-04) S13 (3 replicas) still failed 2 of 2 with CPU "
    "pressure avg 42-51 %, max 97 %: the creates themselves saturate 2 cores"
)
SLOW_PARALLEL_CREATES_2 = (
    SLOW_PARALLEL_CREATES.split(". Under")[0] + ". Under the load budget (2026-12-04) S8 (2 replicas) failed 1, passed 1 "
    "and was inconclusive 1 of 3 runs, CPU pressure avg 30-43 %, max 97 %: it depends on how long the 50 creates hold "
    "the CPU"
)
READY_WHILE_INVALID = (
    f"{ISSUE}, partly fixed: a worker restarted while its DB is unreachable says ready (readiness 200) and answers "
    "400 'Invalid model name' for every DB model until the DB returns; it recovers within the bound after "
    "(under the load budget: 5 of 5 runs, with and without CPU limits per worker, 2026-12-04)"
)
FRONT_DOOR_TIMING = (
    "; clients see it only when the front door's readiness probe admits the worker before the DB returns "
    "(1 of 5 runs)"
)
READINESS_RACE = (
    f"{ISSUE}, partly fixed: while its DB is unreachable at start the worker answers 400 'Invalid model name'; "
    "whether its readiness already says 200 then differs from run to run (seen both ways)"
)
READY_WITHOUT_MODELS = (
    f"{ISSUE}, partly fixed: a worker whose Prisma connect returned but whose next startup steps failed keeps the "
    "client ('Retaining the connected Prisma client after a post-connect startup step failed'), says ready and "
    "lists none of the DB models until the DB returns. S4, S6, S9 on 1.108.7: failed in each run of 2026-12-04, "
    "one cold and one forked each; S1, S4, S6, S9 on 1.106.2 failed forked and S6, S9 cold (same log line, "
    "2026-12-04); all held in the cold runs recorded before (where the fault met the start decides it)"
)
ROLLING_RESTART_TIMING = (
    f"{ISSUE}: whether a replica restarted during the flap lands in its 'Invalid model name' window, and how "
    "long it stays there, depends on the flap's phase (S4 seen both ways on 1.106.2; failing once on 1.108.7)"
)

FRONT_DOOR_READ_BACK = (
    f"{ISSUE} (sibling): a model created through the front door and read back through it at once is not there "
    "when the read lands on the other replica, until its next reload (S12 on 1.108.7: 2 of 3 runs; the same "
    "mechanism on 1.82.3 and 1.106.2, not yet observed there with S12's every-side creates)"
)
UPDATE_NOT_LOCAL = (
    "/model/update on 1.82.3: even the worker that handled it serves the old parameters until its next reload "
    "(re-run under the load budget with changes from every side, 2026-12-04: the updating worker served the old "
    "parameters for 10-11 s)"
)
INTERLEAVED_CREATES = (
    ". With S8's creates spread over both replicas through the front door, each create also refreshes the replica "
    "that handled it, so a model made on one is missing on the other only until that one's next create: a gap of "
    "seconds that the probes (one per pair every ~3.5 s with 53 models) catch or miss. 2026-12-04: held in 1 of 2 cold "
    "runs and in 1 forked run, failed in the other cold run and in the runs before"
)
REOBSERVED = " (re-run under the load budget, 2026-12-04: failed again, CPU pressure avg 26-38 %)"
SLOW_PROBES_WHILE_STUCK = "probes slowed while the stuck worker restarts (load-dependent)"
LOADED_MACHINE = (
    "seen before the load budget: at 40 chats/s per worker a 2-core machine ran short of CPU while a worker started "
    "or models were created, and chats queued past no_stall's bound (then 250 ms); not seen failing since the budget "
    "and the 1 s floor (S7, S10, S12 on 1.106.2 and 1.108.7, 2026-12-04), kept non-strict until these are re-run"
)
LISTS_NONE = "; its /v1/models lists none of the models meanwhile"
STUCK_LISTING = STUCK + LISTS_NONE

RESTART_BROKEN = ("no_invalid_model_ready_gated", "client_invalid_model", "readiness_truthful", "recovery",
                  "no_model_lost", "models_loaded_before_ready", "no_invalid_model_strict")
DURING_FAULT = ("no_invalid_model_ready_gated", "readiness_truthful", "no_invalid_model_strict")

KNOWN: dict[tuple[str, str], dict[str, Expectation]] = {
    # 1.82.3, the incident's
    ("S1", "1.82.3"): {**fails(STUCK_LISTING, *RESTART_BROKEN, "listing_consistent"),
                       **flaky(SLOW_PROBES_WHILE_STUCK, "no_stall")},
    ("S2", "1.82.3"): {**fails(STUCK_DB_ONLY_SETTING, *RESTART_BROKEN, "listing_consistent"),
                       **flaky(SLOW_PROBES_WHILE_STUCK, "no_stall")},
    ("S3", "1.82.3"): fails(FIRST_MODEL_QUERY_FAILS, *DURING_FAULT, "client_invalid_model", "models_loaded_before_ready"),
    ("S4", "1.82.3"): fails(STUCK_LISTING, *RESTART_BROKEN, "listing_consistent"),  # the replica restarted mid-flap
    ("S6", "1.82.3"): fails(STUCK_LISTING, *RESTART_BROKEN, "listing_consistent"),
    ("S7", "1.82.3"): fails(NEW_MODEL_NOT_ON_OTHER_WORKERS, "client_invalid_model", "no_invalid_model_strict"),
    ("S8", "1.82.3"): flaky(NEW_MODEL_NOT_ON_OTHER_WORKERS + INTERLEAVED_CREATES, "read_after_create",
                            "client_invalid_model", "no_invalid_model_strict"),
    ("S9", "1.82.3"): fails(STUCK_LISTING, *RESTART_BROKEN, "listing_consistent"),
    ("S10", "1.82.3"): fails(UPDATE_NOT_LOCAL, "update_propagates"),
    ("S12", "1.82.3"): {**fails(NEW_MODEL_NOT_ON_OTHER_WORKERS + REOBSERVED, "client_invalid_model", "no_invalid_model_strict"),
                        **flaky(FRONT_DOOR_READ_BACK, "read_after_create")},
    ("S13", "1.82.3"): fails(NEW_MODEL_NOT_ON_OTHER_WORKERS + REOBSERVED, "read_after_create", "client_invalid_model",
                             "no_invalid_model_strict"),
    # 1.106.2
    ("S1", "1.106.2"): {**fails(INVALID_MODEL_DURING_OUTAGE, *DURING_FAULT), **flaky(LOADED_MACHINE, "no_stall"),
                        **flaky(READY_WITHOUT_MODELS, "models_loaded_before_ready")},
    ("S2", "1.106.2"): fails(STUCK_DB_ONLY_SETTING + LISTS_NONE, *RESTART_BROKEN, "listing_consistent"),
    ("S3", "1.106.2"): {**fails(READY_BEFORE_MODELS, "models_loaded_before_ready"), **flaky(LOADED_MACHINE, "no_stall")},
    ("S4", "1.106.2"): {**flaky(INVALID_MODEL_DURING_OUTAGE, *DURING_FAULT), **flaky(READY_WITHOUT_MODELS, "models_loaded_before_ready")},
    ("S6", "1.106.2"): {**fails(INVALID_MODEL_DURING_OUTAGE, *DURING_FAULT), **flaky(READY_WITHOUT_MODELS, "models_loaded_before_ready")},
    ("S8", "1.106.2"): flaky(SLOW_PARALLEL_CREATES + " (2026-12-04, under the load budget, forked starts: held once)",
                             "read_after_create", "no_model_lost"),
    ("S9", "1.106.2"): {**fails(INVALID_MODEL_DURING_OUTAGE, *DURING_FAULT), **flaky(READY_WITHOUT_MODELS, "models_loaded_before_ready")},
    ("S13", "1.106.2"): fails(SLOW_PARALLEL_CREATES, "read_after_create"),
    # 1.108.7, the default
    ("S1", "1.108.7"): {**fails(READY_WHILE_INVALID, "no_invalid_model_strict", "no_invalid_model_ready_gated",
                              "readiness_truthful", "models_loaded_before_ready"),
                        **flaky(READY_WHILE_INVALID + FRONT_DOOR_TIMING, "client_invalid_model")},
    ("S2", "1.108.7"): {**fails(STUCK_DB_ONLY_SETTING, *RESTART_BROKEN),
                        # the stuck worker lists none: judged only where a poll lands after heal, in the few seconds before the run ends
                        **flaky(STUCK_DB_ONLY_SETTING + LISTS_NONE, "listing_consistent")},
    ("S3", "1.108.7"): flaky(READY_BEFORE_MODELS + " (seen both ways)", "models_loaded_before_ready"),
    ("S4", "1.108.7"): {**flaky(ROLLING_RESTART_TIMING, *DURING_FAULT, "recovery"),
                        **flaky(READY_WITHOUT_MODELS, "models_loaded_before_ready")},
    ("S6", "1.108.7"): {**fails(INVALID_MODEL_DURING_OUTAGE, *DURING_FAULT),
                        **flaky(READY_WITHOUT_MODELS, "models_loaded_before_ready")},
    ("S8", "1.108.7"): {**flaky(SLOW_PARALLEL_CREATES_2, "read_after_create"), **flaky(LOADED_MACHINE, "no_stall")},
    ("S9", "1.108.7"): {**fails(INVALID_MODEL_DURING_OUTAGE, "no_invalid_model_strict"),
                        **flaky(READINESS_RACE, "no_invalid_model_ready_gated", "readiness_truthful"),
                        **flaky(READY_WITHOUT_MODELS, "models_loaded_before_ready")},
    ("S12", "1.106.2"): flaky(FRONT_DOOR_READ_BACK, "read_after_create"),
    ("S12", "1.108.7"): {**flaky(LOADED_MACHINE, "no_stall"), **flaky(FRONT_DOOR_READ_BACK, "read_after_create")},
    ("S13", "1.108.7"): fails(SLOW_PARALLEL_CREATES, "read_after_create"),
}
# Observed passing (every invariant): S5 on 1.82.3 (S11 with an earlier revision); S5, S10, S11, S12 on 1.106.2; S5, S11 on 1.108.7.
# Under the load budget (2026-12-04, benchmarks/verdict_stability.py): S5, S10, S11, S12 passed 5 of 5 on 1.106.2 and
# on 1.108.7 (S10 with its changes from every side; its "slow delete, seen once under load" entry is gone); S7 3 of 3
# on 1.106.2 (its no_stall entry is gone: the one slow chat, 0.41 s during a reload, is under no_stall's 1 s floor);
# S7 2 of 2 on 1.108.7 (its "one slow /model/new, seen once" and no_stall entries are gone).


def expectation(scenario: str, version: str, invariant: str) -> Expectation | None:
    return KNOWN.get((scenario, version), {}).get(invariant)


def expected_verdict(scenario: str, version: str) -> str:
    """`fails` when a contract invariant of the scenario always fails on that version, `flaky` when one
    was seen both ways, else `pass`."""
    from chaos.scenarios import catalog

    kinds = {e.kind for inv, e in KNOWN.get((scenario, version), {}).items() if inv in catalog.get(scenario).contract}
    return FAILS if FAILS in kinds else FLAKY if FLAKY in kinds else "pass"
