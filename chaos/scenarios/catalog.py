"""The chaos scenarios of LiteLLM issue 26237 and its siblings, as data (see chaos.scenarios.schedule).

Each is usable from pytest (scenarios/), `chaos run NAME` and `chaos reproduce 26237` (S1), and
declares its contract (the invariants that decide its verdict) and advisory invariants.
No step waits on the behaviour under test: a heal "on worker_ready" falls back to a bounded time
after the worker's process answers on its port (worker_live)."""

from __future__ import annotations

from chaos.errors import UsageError
from chaos.run.events import Event
from chaos.scenarios.scenario import RESTART_ADVISORY, RESTART_CONTRACT, BoundRules, Scenario
from chaos.scenarios.schedule import Fallback, Schedule, Step
from chaos.stack.config import DEFAULT_MODELS

# LiteLLM 1.106.x reconnects on its own; make its timing fit the recovery bound (both settable).
FAST_RECONNECT = {"PRISMA_RECONNECT_COOLDOWN_SECONDS": "5", "PRISMA_HEALTH_WATCHDOG_INTERVAL_SECONDS": "5"}
# Two replicas: one whose DB path breaks, one that shows the rest of the fleet keeps serving
# (and a small machine keeps up with the probe load).
BASE_STACK = {"replicas": 2}
INCIDENT_STACK = BASE_STACK | {"allow_requests_on_db_unavailable": True, "worker_env": FAST_RECONNECT}
# a worker that never says ready (a correct one, while its DB is unreachable) gets its heal this
# long after its process answers on its port
HEAL_AFTER_LIVE_S = 20.0

# model-state scenarios: what a client of the fleet sees, plus what every worker lists
CHANGE_CONTRACT = ("read_after_create", "create_propagates", "client_invalid_model", "no_model_lost")
CHANGE_ADVISORY = ("no_invalid_model_strict", "listing_consistent", "no_stall")


def heal_when_ready(step_id: str, heals: str, worker: str, delay_s: float) -> Step:
    """Heal `delay_s` after the worker's first readiness 200, or HEAL_AFTER_LIVE_S after its process
    answers on its port (a correct worker may never say ready while the fault lasts)."""
    return Step(step_id, heal=heals, on=Event.WORKER_READY, match={"worker": worker}, delay_s=delay_s,
                fallback=Fallback(after_s=HEAL_AFTER_LIVE_S, event=Event.WORKER_LIVE, match={"worker": worker}), within_s=150)


def restart_during(name: str, title: str, fault: dict, heal_delay_s: float, stack: dict) -> Scenario:
    """worker-1 restarts while `fault` is active; the fault heals `heal_delay_s` after the
    restarted worker's first readiness 200 (or its fallback). The restart is a crash (SIGKILL,
    as an OOM kill or a failed liveness probe restarts a pod): the point is the start with the DB
    unreachable, not the graceful stop, which waits out its whole grace with the DB gone."""
    return Scenario(name, title, Schedule(
        name, steps=[
            Step("fault", apply=fault),
            Step("restart", apply={"kind": "worker_restart", "worker": "worker-1", "mode": "crash"}),
            heal_when_ready("heal", "fault", "worker-1", heal_delay_s),
        ]), stack=stack)


def s1() -> Scenario:
    """The incident: worker-1 restarts while its DB path is down, then the DB comes back."""
    return restart_during("S1", "worker restart during a DB outage (allow_requests_on_db_unavailable: true)",
                          {"kind": "link_down", "link": "worker-1"}, 5, INCIDENT_STACK)


def s2() -> Scenario:
    """store_model_in_db only in the DB's general settings; the settings read fails at start."""
    return restart_during("S2", "store_model_in_db only in the DB, settings read fails at start",
                          {"kind": "link_down", "link": "worker-1"}, 3, INCIDENT_STACK | {"store_model_in_db_source": "db"})


def s3() -> Scenario:
    """Connect and SELECT 1 fine, but the first model query hangs (the model table is locked)."""
    return restart_during("S3", "first model query hangs (table lock) during a restart",
                          {"kind": "pg_lock_table"}, 5, INCIDENT_STACK)


def s4() -> Scenario:
    """A flapping DB link (HAProxy to PostgreSQL) during a rolling restart of every replica (graceful:
    a rollout sends SIGTERM, and a stop that drags while the DB flaps is part of what happens)."""
    return Scenario("S4", "flapping DB link during a rolling restart", Schedule(
        "S4", steps=[
            Step("flap", apply={"kind": "link_flap", "link": "postgres", "period_s": 3, "duty": 0.5, "jitter_s": 0.5, "seed": 4}),
            Step("roll", apply={"kind": "rolling_restart", "after_live_s": HEAL_AFTER_LIVE_S}),
            Step("stop-flap", heal="flap"),
        ], seed=4), stack=INCIDENT_STACK)


def s5() -> Scenario:
    """A DB outage on a running fleet across several reloads: no loaded model may be evicted."""
    return Scenario("S5", "DB outage across reloads on a running fleet", Schedule(
        "S5", steps=[
            Step("outage", apply={"kind": "pg_stop"}),
            Step("heal", heal="outage", at=25),
        ]), stack=INCIDENT_STACK,
        contract=("no_invalid_model_ready_gated", "client_invalid_model", "readiness_truthful", "recovery", "no_model_lost",
                  "listing_consistent"),
        advisory=("no_invalid_model_strict", "no_stall"))


def s6() -> Scenario:
    """HAProxy marks the backend down (maint), then up, while one worker restarts."""
    return restart_during("S6", "HAProxy backend maint while a worker restarts",
                          {"kind": "haproxy_server", "state": "maint"}, 5, INCIDENT_STACK)


def s7() -> Scenario:
    """A model created on one worker must become servable on all others within the bound."""
    return Scenario("S7", "propagation of a model created on one worker", Schedule(
        "S7", steps=[Step("create", create_models={"worker": "worker-1", "count": 1, "prefix": "s7-model"})],
        recovery_s=0), stack=BASE_STACK, contract=CHANGE_CONTRACT, advisory=CHANGE_ADVISORY)


def s8() -> Scenario:
    """50 models created in parallel through the front door, each read back through it at once
    (the Terraform provider's pattern: create, then read; the read may land on any replica)."""
    return Scenario("S8", "50 parallel creates through the front door, each read back at once", Schedule(
        "S8", steps=[Step("create", create_models={"via": "front_door", "count": 50, "prefix": "s8-model", "parallel": True})],
        recovery_s=0), stack=BASE_STACK, contract=CHANGE_CONTRACT, advisory=CHANGE_ADVISORY)


def s9() -> Scenario:
    """A slow DB (latency, then a black hole) while a worker starts."""
    return Scenario("S9", "slow then black-holed DB during startup", Schedule(
        "S9", steps=[
            Step("slow", apply={"kind": "toxic", "link": "worker-1", "type": "latency", "attributes": {"latency": 500, "jitter": 200}}),
            Step("restart", apply={"kind": "worker_restart", "worker": "worker-1", "mode": "crash"}),
            Step("blackhole", apply={"kind": "toxic", "link": "worker-1", "type": "timeout", "attributes": {"timeout": 0}},
                 on=Event.WORKER_SPAWNED, match={"worker": "worker-1"}, delay_s=3),
            heal_when_ready("heal-blackhole", "blackhole", "worker-1", 5),
            Step("heal-slow", heal="slow"),
        ]), stack=INCIDENT_STACK)


# S10's models: one deleted and four updated, each change from another side
S10_MODELS = (*DEFAULT_MODELS, "gpt-4o", "claude-3-5-sonnet")


def s10() -> Scenario:
    """A short outage on every worker's DB link (longer than a reload interval, and until every
    worker has been seen trying the DB during it, so a reload met it), healed; then
    changes from every side in turn, so every worker's reload path is judged: one model deleted
    through worker-2, four updated through worker-1, worker-2, the front door and straight in the
    DB (as another replica or the admin UI would). Every worker must follow."""
    return Scenario("S10", "delete and update propagation after a DB blip, changes from every side", Schedule(
        "S10", steps=[
            # held until every worker was seen trying the DB during it (Toxiproxy's log), 30 s at most
            Step("blip", apply={"kind": "link_reset", "link": "workers", "hold_max_s": 30}),
            Step("unblip", heal="blip", delay_s=8, settle="recovery_bound"),
            Step("delete", delete_models={"worker": "each", "models": ["seed:4"], "start": 1}),
            Step("update", update_models={"worker": "each", "models": ["seed:0", "seed:1", "seed:2", "seed:3"], "route": "blue"},
                 settle="propagation_bound"),
        ]), stack=INCIDENT_STACK | {"models": S10_MODELS},
        contract=("delete_propagates", "update_propagates", "recovery", "no_model_lost", "client_invalid_model",
                  "no_invalid_model_ready_gated", "readiness_truthful"),
        advisory=("no_invalid_model_strict", "listing_consistent", "no_stall"))


# S11 judges latency (no_stall in its contract): at 40 chats/s per worker a small machine runs out
# of CPU (2 workers, their Prisma engines and the harness) and queueing alone makes chats take
# seconds (docs/findings/observed.md); at 20 it keeps headroom. The listing probes, which catch a
# reload's gap, keep their rate.
STEADY_STATE_RATE = 20.0


def s11() -> Scenario:
    """A healthy DB and nothing changing, across several reloads: every worker lists every model on
    every poll, nothing stalls, nothing is answered 'Invalid model name'."""
    return Scenario("S11", "steady state across reloads",
                    Schedule("S11", steps=[], recovery_s=20, rate_per_worker=STEADY_STATE_RATE), stack=BASE_STACK,
                    contract=("listing_consistent", "no_stall", "no_invalid_model_strict", "client_invalid_model",
                              "readiness_truthful", "no_model_lost"),
                    advisory=("recovery",))


def s12() -> Scenario:
    """Models created from every side in turn (each worker, the front door, straight in the DB) must
    be listed by every worker within one reload interval plus slack, and vanish from every listing
    as fast once deleted, each deleted from another side than the one that created it."""
    return Scenario("S12", "propagation by listing: create, then delete, from every side", Schedule(
        "S12", steps=[
            Step("create", create_models={"worker": "each", "prefix": "s12-model"}, settle="propagation_bound"),
            Step("delete", delete_models={"worker": "each", "models": ["created:create"], "start": 1},
                 settle="propagation_bound"),
        ], recovery_s=0), stack=BASE_STACK,
        # read_after_create is advisory here: the front-door create's read-back lands on either replica,
        # which is S8's and S13's contract (the Terraform pattern); S12 judges propagation by listing
        contract=("create_propagates", "delete_propagates", "client_invalid_model", "no_model_lost"),
        advisory=(*CHANGE_ADVISORY, "read_after_create"),
        bounds=BoundRules(propagation_reloads=1, propagation_slack_s=5, min_propagation_s=0))


def s13() -> Scenario:
    """The Terraform provider through a Service: 50 models created in parallel through the front
    door (landing on any of 3 replicas), each read back through it at once and again until the bound."""
    return Scenario("S13", "read-after-create through the front door, 50 parallel creates, 3 replicas", Schedule(
        "S13", steps=[Step("create", create_models={"via": "front_door", "count": 50, "prefix": "s13-model", "parallel": True,
                                                    "read_until_bound": True})],
        recovery_s=0), stack=BASE_STACK | {"replicas": 3}, contract=CHANGE_CONTRACT, advisory=CHANGE_ADVISORY)


SCENARIOS = {f.__name__.upper(): f for f in (s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13)}
# issue -> (scenario, the LiteLLM version it was reported against)
ISSUES = {"26237": ("S1", "1.82.3")}
__all__ = ["RESTART_ADVISORY", "RESTART_CONTRACT", "SCENARIOS", "get"]


def get(name: str) -> Scenario:
    key = ISSUES[name][0] if name in ISSUES else name.upper()
    if key not in SCENARIOS:
        raise UsageError(f"unknown scenario {name!r}; expected one of: {', '.join(SCENARIOS)} (or issue 26237)")
    return SCENARIOS[key]().validate()
