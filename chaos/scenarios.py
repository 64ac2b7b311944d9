"""The chaos scenarios of LiteLLM issue 26237 and its siblings, as data (see chaos.schedule).

Each is usable from pytest (scenarios/), `chaos run NAME` and `chaos reproduce 26237` (S1)."""

from __future__ import annotations

from .errors import UsageError
from .runner import Scenario
from .schedule import Schedule, Step

# LiteLLM 1.106.x reconnects on its own; make its timing fit the recovery bound (both settable).
FAST_RECONNECT = {"PRISMA_RECONNECT_COOLDOWN_SECONDS": "5", "PRISMA_HEALTH_WATCHDOG_INTERVAL_SECONDS": "5"}
# Two replicas: one whose DB path breaks, one that shows the rest of the fleet keeps serving
# (and a 2-core machine keeps up with the probe load).
BASE_STACK = {"replicas": 2}
INCIDENT_STACK = BASE_STACK | {"allow_requests_on_db_unavailable": True, "worker_env": FAST_RECONNECT}


def restart_during(name: str, title: str, fault: dict, heal_delay_s: float, stack: dict) -> Scenario:
    """worker-1 restarts while `fault` is active; the fault heals `heal_delay_s` after the
    restarted worker's first readiness 200."""
    return Scenario(name, title, Schedule(
        name, steps=[
            Step("fault", apply=fault),
            Step("restart", apply={"kind": "worker_restart", "worker": "worker-1"}),
            Step("heal", heal="fault", on="worker_ready", match={"worker": "worker-1"}, delay_s=heal_delay_s, within_s=150),
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
    """A flapping DB link (HAProxy to PostgreSQL) during a rolling restart of every replica."""
    return Scenario("S4", "flapping DB link during a rolling restart", Schedule(
        "S4", steps=[
            Step("flap", apply={"kind": "link_flap", "link": "postgres", "period_s": 3, "duty": 0.5, "jitter_s": 0.5, "seed": 4}),
            Step("roll", apply={"kind": "rolling_restart"}),
            Step("stop-flap", heal="flap"),
        ], seed=4), stack=INCIDENT_STACK)


def s5() -> Scenario:
    """A DB outage on a running fleet across several reloads: no loaded model may be evicted."""
    return Scenario("S5", "DB outage across reloads on a running fleet", Schedule(
        "S5", steps=[
            Step("outage", apply={"kind": "pg_stop"}),
            Step("heal", heal="outage", at=25),
        ]), stack=INCIDENT_STACK)


def s6() -> Scenario:
    """HAProxy marks the backend down (maint), then up, while one worker restarts."""
    return restart_during("S6", "HAProxy backend maint while a worker restarts",
                          {"kind": "haproxy_server", "state": "maint"}, 5, INCIDENT_STACK)


def s7() -> Scenario:
    """A model created on one worker must become servable on all others within the bound."""
    return Scenario("S7", "propagation of a model created on one worker", Schedule(
        "S7", steps=[Step("create", create_models={"worker": "worker-1", "count": 1, "prefix": "s7-model"})],
        recovery_s=0), stack=BASE_STACK, checks=["no_invalid_model_strict", "read_after_create", "no_model_lost"])


def s8() -> Scenario:
    """50 models created in parallel, each read back immediately (the Terraform provider's failure)."""
    return Scenario("S8", "50 parallel creates, each read back at once", Schedule(
        "S8", steps=[Step("create", create_models={"worker": "worker-1", "count": 50, "prefix": "s8-model", "parallel": True})],
        recovery_s=0), stack=BASE_STACK, checks=["no_invalid_model_strict", "read_after_create", "no_model_lost"])


def s9() -> Scenario:
    """A slow DB (latency, then a black hole) while a worker starts."""
    return Scenario("S9", "slow then black-holed DB during startup", Schedule(
        "S9", steps=[
            Step("slow", apply={"kind": "toxic", "link": "worker-1", "type": "latency", "attributes": {"latency": 500, "jitter": 200}}),
            Step("restart", apply={"kind": "worker_restart", "worker": "worker-1"}),
            Step("blackhole", apply={"kind": "toxic", "link": "worker-1", "type": "timeout", "attributes": {"timeout": 0}},
                 on="worker_spawned", match={"worker": "worker-1"}, delay_s=3),
            Step("heal-blackhole", heal="blackhole", on="worker_ready", match={"worker": "worker-1"}, delay_s=5, within_s=150),
            Step("heal-slow", heal="slow"),
        ]), stack=INCIDENT_STACK)


SCENARIOS = {f.__name__.upper(): f for f in (s1, s2, s3, s4, s5, s6, s7, s8, s9)}
# issue -> (scenario, the LiteLLM version it was reported against)
ISSUES = {"26237": ("S1", "1.82.3")}


def get(name: str) -> Scenario:
    key = ISSUES[name][0] if name in ISSUES else name.upper()
    if key not in SCENARIOS:
        raise UsageError(f"unknown scenario {name!r}; expected one of: {', '.join(SCENARIOS)} (or issue 26237)")
    return SCENARIOS[key]()
