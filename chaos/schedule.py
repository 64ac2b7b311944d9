"""Schedules are data: JSON-serialisable, written into the evidence, replayable.

    {"name": "S1", "seed": 1, "baseline_s": 3, "recovery_s": 60,
     "steps": [
       {"id": "outage", "apply": {"kind": "link_down", "link": "worker-1"}, "at": 0},
       {"id": "restart", "apply": {"kind": "worker_restart", "worker": "worker-1"}},
       {"id": "heal", "heal": "outage", "on": "worker_ready", "match": {"worker": "worker-1"}, "delay_s": 5}
     ]}

Steps run in order. A step fires at `at` seconds after the schedule started, or on the first event
`on` (with `match`) after the previous step fired, plus `delay_s`; with neither, right after the
previous step. Event triggers: worker_spawned, worker_ready (first readiness 200 of a spawn),
model_query_seen (the first read of the model table in PostgreSQL's log; `match` {"worker"} narrows it), management_returned
(a /model/new step completed), or another event of the log (OTHER_EVENTS). Actions: `apply` a fault, `heal` an
earlier step's fault, `create_models` ({"worker", "count", "prefix", "parallel"}). Every schedule
ends with heal-all and a recovery window of `recovery_s`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import UsageError

EVENT_TRIGGERS = ("worker_spawned", "worker_ready", "model_query_seen", "management_returned")
# other events of the log a step may wait for
OTHER_EVENTS = ("worker_exited", "worker_backoff", "worker_restarted", "worker_stopped", "worker_killed",
                "worker_paused", "worker_resumed", "fault_applied", "fault_healed", "link_flap_down", "link_flap_up")


@dataclass
class Step:
    id: str
    apply: dict | None = None
    heal: str | None = None
    create_models: dict | None = None
    at: float | None = None
    on: str | None = None
    match: dict = field(default_factory=dict)
    delay_s: float = 0.0
    within_s: float = 120.0  # an event trigger not seen by then aborts the run


@dataclass
class Schedule:
    name: str
    steps: list[Step]
    seed: int = 0
    baseline_s: float = 3.0
    recovery_s: float = 30.0
    # StackConfig fields the schedule ran with (replicas, allow_requests_on_db_unavailable, ...):
    # written into the evidence so that `chaos replay` brings up the same stack
    stack: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        d = asdict(self)
        d["steps"] = [{k: v for k, v in s.items() if v not in (None, {}) or k == "id"} for s in d["steps"]]
        return d

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2))

    @classmethod
    def from_json(cls, data: dict, source: str = "schedule") -> "Schedule":
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            raise UsageError(f"{source}: expected an object with a 'steps' list")
        known = {"name", "steps", "seed", "baseline_s", "recovery_s", "stack"}
        if set(data) - known:
            raise UsageError(f"{source}: unknown field(s) {sorted(set(data) - known)}; expected some of {sorted(known)}")
        steps = []
        for i, raw in enumerate(data["steps"]):
            if not isinstance(raw, dict):
                raise UsageError(f"{source}: step {i} is not an object")
            try:
                steps.append(Step(**raw))
            except TypeError as exc:
                raise UsageError(f"{source}: step {i}: {exc}") from None
        schedule = cls(name=str(data.get("name", "replay")), steps=steps, seed=data.get("seed", 0),
                       baseline_s=data.get("baseline_s", 3.0), recovery_s=data.get("recovery_s", 30.0),
                       stack=data.get("stack") or {})
        schedule.validate(source)
        return schedule

    @classmethod
    def load(cls, path: str | Path) -> "Schedule":
        try:
            data = json.loads(Path(path).read_text())
        except OSError as exc:
            raise UsageError(f"cannot read schedule {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise UsageError(f"schedule {path} is not valid JSON: {exc}") from None
        return cls.from_json(data, str(path))

    def validate(self, source: str = "schedule") -> None:
        """Structure only; fault parameters, workers and links are checked against the stack."""
        for name in ("baseline_s", "recovery_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise UsageError(f"{source}: {name}={value!r} must be a non-negative number of seconds")
        if not isinstance(self.stack, dict):
            raise UsageError(f"{source}: stack={self.stack!r} must be an object of stack settings")
        ids = set()
        for step in self.steps:
            where = f"{source}: step {step.id!r}"
            actions = [a for a in (step.apply, step.heal, step.create_models) if a is not None]
            if len(actions) != 1:
                raise UsageError(f"{where}: needs exactly one of apply, heal, create_models")
            if step.heal is not None and step.heal not in ids:
                raise UsageError(f"{where}: heals {step.heal!r}, which is not an earlier step")
            for name in ("at", "delay_s", "within_s"):
                value = getattr(step, name)
                if value is not None and (not isinstance(value, (int, float)) or value < 0):
                    raise UsageError(f"{where}: {name}={value!r} must be a non-negative number of seconds")
            if step.on is not None and step.on not in EVENT_TRIGGERS + OTHER_EVENTS:
                raise UsageError(f"{where}: unknown event {step.on!r}; expected one of: {', '.join(EVENT_TRIGGERS + OTHER_EVENTS)}")
            if step.at is not None and step.on is not None:
                raise UsageError(f"{where}: give `at` or `on`, not both")
            if step.id in ids:
                raise UsageError(f"{where}: duplicate step id")
            ids.add(step.id)

    def workers_named(self) -> set[str]:
        names = set()
        for step in self.steps:
            for part in (step.apply or {}, step.match, step.create_models or {}):
                for key in ("worker", "link"):
                    value = part.get(key)
                    if isinstance(value, str) and value.startswith("worker-"):
                        names.add(value)
        return names
