"""Generated schedules: pure functions of a seed and the stack's shape (Jepsen's generators).

A schedule is drawn from the fault vocabulary (DB links down, flapping or degraded, for one worker
or all; HAProxy's server in maint or HAProxy stopped; PostgreSQL stopped, frozen, its connections
terminated, the model table locked), the worker lifecycle (graceful or crash restarts, kills,
pauses, a rolling restart) and the management workload (models created, updated, deleted, in
parallel or not), with triggers tied to events (a worker's spawn, its process listening, its
readiness, its next model-table read, a management call returning; a trigger on a behaviour under
test always with its bounded fallback) or to offsets. Faults may overlap; every fault is healed
before the schedule ends, and the run ends with heal-all and a recovery window as any schedule.

The same seed and shape give the same schedule, byte for byte (generate(...).to_json() serialised
with sorted keys); Schedule.seed is the seed. Weights and the vocabulary are settable."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from chaos.errors import UsageError
from chaos.run.events import Event
from chaos.scenarios.schedule import PREVIOUS_STEP, Fallback, Schedule, Step

# kind -> weight; a kind left out (or weight 0) is never drawn
DEFAULT_WEIGHTS = {
    "link_down": 4, "link_flap": 2, "toxic_latency": 2, "toxic_blackhole": 2, "haproxy_maint": 2, "haproxy_stop": 1,
    "pg_stop": 2, "pg_pause": 1, "pg_terminate": 1, "pg_lock": 2,
    "restart_graceful": 2, "restart_crash": 3, "kill": 1, "pause": 1, "rolling_restart": 1,
    "create": 2, "update": 1, "delete": 1,
}
VOCABULARY = tuple(DEFAULT_WEIGHTS)
WORKER_KINDS = {"restart_graceful", "restart_crash", "kill", "pause", "rolling_restart"}
MANAGEMENT_KINDS = {"create", "update", "delete"}


@dataclass(frozen=True)
class Shape:
    """What a schedule may name: the workers and the seeded models."""

    replicas: int
    models: tuple[str, ...] = ("gpt-4o-mini", "google/gemini-2.5-flash", "claude-3-5-haiku")

    @property
    def workers(self) -> list[str]:
        return [f"worker-{i}" for i in range(1, self.replicas + 1)]


@dataclass
class Options:
    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    max_actions: int = 3  # 1..max_actions faults or workload steps
    max_fault_s: float = 20.0  # the longest a fault lasts (a heal is due by then at the latest)
    recovery_s: float = 30.0

    def validate(self) -> "Options":
        unknown = set(self.weights) - set(VOCABULARY)
        if unknown:
            raise UsageError(f"unknown schedule kind(s) {sorted(unknown)}; expected some of: {', '.join(VOCABULARY)}")
        if not any(w > 0 for w in self.weights.values()):
            raise UsageError("every weight is 0: nothing could be drawn")
        if any((not isinstance(w, (int, float))) or w < 0 for w in self.weights.values()):
            raise UsageError(f"weights {self.weights} must be non-negative numbers")
        if not isinstance(self.max_actions, int) or self.max_actions < 1:
            raise UsageError(f"max_actions={self.max_actions!r} must be a whole number >= 1")
        return self


def generate(seed: int, shape: Shape, options: Options | None = None) -> Schedule:
    """The schedule of `seed` on a stack of `shape`."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UsageError(f"--seed {seed!r} is not a whole number")
    options = (options or Options()).validate()
    rng = random.Random(seed)
    kinds = [k for k in VOCABULARY if options.weights.get(k, 0) > 0]
    weights = [options.weights[k] for k in kinds]
    steps: list[Step] = []
    pending: list[Step] = []  # heals not placed yet: a fault stays on while later actions fire (overlap)
    restarted: str | None = None  # the worker the previous action restarted (its events can trigger the next)
    for n in range(1, rng.randint(1, options.max_actions) + 1):
        kind = rng.choices(kinds, weights)[0]
        worker = rng.choice(shape.workers)
        sid = f"{n}-{kind}"
        trigger = _trigger(rng, restarted)
        if kind in MANAGEMENT_KINDS:
            steps.append(_management(rng, sid, kind, worker, shape, n, trigger))
        else:
            steps.append(Step(sid, apply=_fault(rng, kind, worker), **trigger))
            if not _instant(kind):
                pending.append(_heal(rng, sid, kind, worker, options))
        restarted = worker if kind in ("restart_graceful", "restart_crash", "kill") else None
        keep = [h for h in pending if rng.random() < 0.5]  # the others heal now, before the next action
        steps += [h for h in pending if h not in keep]
        pending = keep
    steps += pending
    return Schedule(f"G{seed}", steps, seed=seed, recovery_s=options.recovery_s,
                    stack={"replicas": shape.replicas}).validate(f"generated schedule (seed {seed})")


def _instant(kind: str) -> bool:
    return kind in ("pg_terminate", "restart_graceful", "restart_crash", "kill", "rolling_restart")


def _trigger(rng: random.Random, restarted: str | None) -> dict:
    """When the next action fires: after a delay, or on an event of the worker the previous
    action restarted (its spawn, its process listening, its readiness, its first model read);
    a trigger on a behaviour under test always with its bounded, bug-independent fallback."""
    roll = rng.random()
    if restarted is None or roll < 0.3:
        return {"delay_s": round(rng.uniform(0, 4), 1)}
    match = {"worker": restarted}
    if roll < 0.5:
        return {"on": Event.WORKER_SPAWNED, "match": match, "delay_s": round(rng.uniform(0, 3), 1), "within_s": 60}
    if roll < 0.65:
        return {"on": Event.WORKER_LIVE, "match": match, "delay_s": round(rng.uniform(0, 3), 1), "within_s": 120,
                "fallback": Fallback(after_s=90, event=Event.WORKER_SPAWNED, match=match)}
    if roll < 0.85:
        return {"on": Event.WORKER_READY, "match": match, "delay_s": round(rng.uniform(0, 5), 1), "within_s": 150,
                "fallback": Fallback(after_s=20, event=Event.WORKER_LIVE, match=match)}
    return {"on": Event.MODEL_QUERY_SEEN, "match": match, "delay_s": round(rng.uniform(0, 2), 1), "within_s": 90,
            "fallback": Fallback(after_s=40, event=Event.WORKER_SPAWNED, match=match)}


def _fault(rng: random.Random, kind: str, worker: str) -> dict:
    link = rng.choice([worker, worker, "workers", "postgres"])
    if kind == "link_down":
        return {"kind": "link_down", "link": link}
    if kind == "link_flap":
        return {"kind": "link_flap", "link": link, "period_s": rng.choice([1, 2, 3, 5]), "duty": rng.choice([0.3, 0.5, 0.7]),
                "jitter_s": rng.choice([0, 0.2, 0.5]), "seed": rng.randint(0, 999)}
    if kind == "toxic_latency":
        return {"kind": "toxic", "link": link, "type": "latency",
                "attributes": {"latency": rng.choice([200, 500, 1000, 3000]), "jitter": rng.choice([0, 100, 300])}}
    if kind == "toxic_blackhole":
        return {"kind": "toxic", "link": link, "type": "timeout", "attributes": {"timeout": 0}}
    if kind == "haproxy_maint":
        return {"kind": "haproxy_server", "state": rng.choice(["maint", "drain"])}
    if kind in ("haproxy_stop", "pg_stop", "pg_pause"):
        return {"kind": kind}
    if kind == "pg_terminate":
        return {"kind": "pg_terminate_backends"}
    if kind == "pg_lock":
        return {"kind": "pg_lock_table"}
    if kind in ("restart_graceful", "restart_crash"):
        return {"kind": "worker_restart", "worker": worker, "mode": "crash" if kind == "restart_crash" else "graceful"}
    if kind == "kill":
        return {"kind": "worker_kill", "worker": worker}
    if kind == "pause":
        return {"kind": "worker_pause", "worker": worker}
    return {"kind": "rolling_restart", "after_live_s": 20}


def _heal(rng: random.Random, sid: str, kind: str, worker: str, options: Options) -> Step:
    """The fault's heal: after a while, or once a worker is ready again (with a fallback that
    counts from the previous step), within max_fault_s of the previous step either way."""
    longest = options.max_fault_s
    if kind != "pause" and rng.random() < 0.3:
        after = round(rng.uniform(5, longest), 1)
        return Step(f"heal-{sid}", heal=sid, on=Event.WORKER_READY, match={"worker": worker}, delay_s=round(rng.uniform(0, 5), 1),
                    within_s=after + 30, fallback=Fallback(after_s=after, event=PREVIOUS_STEP))
    return Step(f"heal-{sid}", heal=sid, delay_s=round(rng.uniform(1, longest), 1))


def _management(rng: random.Random, sid: str, kind: str, worker: str, shape: Shape, n: int, trigger: dict) -> Step:
    # from every side: a worker, the front door, or straight into the DB (another replica, the admin UI)
    side = rng.random()
    via = {"via": "front_door"} if side < 0.3 else {"via": "db"} if side < 0.5 else {"worker": worker}
    if kind == "create":
        count = rng.choice([1, 1, 5, 20])
        return Step(sid, create_models=via | {"count": count, "prefix": f"g{n}", "parallel": count > 1 and rng.random() < 0.7},
                    **trigger)
    model = f"seed:{rng.randrange(len(shape.models))}"
    if kind == "update":
        return Step(sid, update_models=via | {"models": [model], "route": rng.choice(["blue", "green"])}, **trigger)
    return Step(sid, delete_models=via | {"models": [model]}, **trigger)
