"""Schedules are data: JSON-serialisable, written into the evidence, replayable.

    {"name": "S1", "seed": 1, "baseline_s": 3, "recovery_s": 60,
     "steps": [
       {"id": "outage", "apply": {"kind": "link_down", "link": "worker-1"}},
       {"id": "restart", "apply": {"kind": "worker_restart", "worker": "worker-1"}},
       {"id": "heal", "heal": "outage", "on": "worker_ready", "match": {"worker": "worker-1"}, "delay_s": 5,
        "fallback": {"from": "worker_live", "match": {"worker": "worker-1"}, "after_s": 20}, "within_s": 150}
     ]}

Steps run in order. A step fires at `at` seconds after the schedule started, or on the first event
`on` (with `match`) after the previous step fired, plus `delay_s`; with neither, right after the
previous step.

A scenario must never wait on the behaviour it tests (a correct worker may never say "ready"
while its DB is down). So a step waiting on an event of UNDER_TEST_EVENTS must name a
`fallback`: it then fires on the event (+ delay_s) OR `after_s` seconds after the first `from`
event (a bug-independent one, e.g. worker_live: the process answers on its port), whichever
comes first, and at `within_s` after the previous step at the latest ("from": "previous_step"
counts the fallback from the previous step's firing). events.jsonl records which
of them fired (`step_fired`, by: event | fallback | deadline). A step without a fallback that
does not see its event within `within_s` aborts the run (the harness's own event went missing).

Actions: `apply` a fault, `heal` an earlier step's fault, `create_models` ({"worker" or
"via": "front_door" | "db", "count", "prefix", "parallel"}), `delete_models` / `update_models`
({"worker" or "via", "models": [names, "seed:N": the stack's N-th model, or "created:STEP": every
model an earlier step created], "start"}, update: "route": a name the fake upstream answers with, so
the new parameters are visible in every answer). "worker": "each" makes the change from every side
in turn: each worker, the front door, the DB (a create makes one model per side, named after it;
a delete or update sends model i through side i + start). `settle` after an action waits that
long before the next step: seconds, or "recovery_bound" / "propagation_bound" (the run's bounds,
which depend on the LiteLLM version's reload interval, + 1 s). Every schedule ends with heal-all
and a recovery window of `recovery_s`.

`rate_per_worker` is the chat rate the schedule runs at unless the user sets one (`--rate`).
A scenario file may also carry what judges it: `contract` and `advisory` (invariant names) and
`bounds`; Run writes them into every evidence folder's schedule.json so a replay is judged the same."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chaos.errors import UsageError
from chaos.run.events import HARNESS_EVENTS, UNDER_TEST_EVENTS, Event

EVENT_TRIGGERS = HARNESS_EVENTS + UNDER_TEST_EVENTS
# a fallback may also count from the moment the previous step fired
PREVIOUS_STEP = "previous_step"
# trigger name -> the event kind recorded in the log
EVENT_KIND = {Event.MODEL_QUERY_SEEN: Event.MODEL_TABLE_READ}
SETTLE_BOUNDS = ("recovery_bound", "propagation_bound")
ACTIONS = ("apply", "heal", "create_models", "delete_models", "update_models")
SCHEDULE_FIELDS = ("name", "steps", "seed", "baseline_s", "recovery_s", "rate_per_worker", "stack", "contract", "advisory",
                   "bounds")


@dataclass
class Fallback:
    """Fire `after_s` seconds after the first `from` event (with `match`) since the previous step."""

    after_s: float
    event: str = Event.WORKER_LIVE  # "from" in JSON
    match: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"from": self.event, "match": self.match, "after_s": self.after_s}


@dataclass
class Step:
    id: str
    apply: dict | None = None
    heal: str | None = None
    create_models: dict | None = None
    delete_models: dict | None = None
    update_models: dict | None = None
    at: float | None = None
    on: str | None = None
    match: dict = field(default_factory=dict)
    delay_s: float = 0.0
    fallback: Fallback | None = None
    within_s: float = 120.0  # the longest this step waits for its trigger
    settle: float | str | None = None  # wait after the action: seconds or a bound's name

    def action(self) -> str:
        return next(a for a in ACTIONS if getattr(self, a) is not None)


@dataclass
class Schedule:
    name: str
    steps: list[Step]
    seed: int = 0
    baseline_s: float = 3.0
    recovery_s: float = 30.0
    # the chat rate (requests/s per worker) this schedule runs at unless the user sets one (None: the
    # default): a scenario that judges latency needs the machine to keep headroom
    rate_per_worker: float | None = None
    # StackConfig fields the schedule ran with (replicas, allow_requests_on_db_unavailable, ...):
    # written into the evidence so that `chaos replay` brings up the same stack
    stack: dict = field(default_factory=dict)
    # what judges it (Run fills these in from the scenario when writing the evidence)
    contract: list[str] | None = None
    advisory: list[str] | None = None
    bounds: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        d = asdict(self)
        d["steps"] = [_step_json(s) for s in self.steps]
        return {k: v for k, v in d.items() if v not in (None, {}) or k in ("name", "steps", "stack")}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2))

    @classmethod
    def from_json(cls, data: dict, source: str = "schedule") -> "Schedule":
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            raise UsageError(f"{source}: expected an object with a 'steps' list")
        if set(data) - set(SCHEDULE_FIELDS):
            raise UsageError(f"{source}: unknown field(s) {sorted(set(data) - set(SCHEDULE_FIELDS))}; expected some of {sorted(SCHEDULE_FIELDS)}")
        steps = [_step_from_json(raw, i, source) for i, raw in enumerate(data["steps"])]
        schedule = cls(name=str(data.get("name", "replay")), steps=steps, seed=data.get("seed", 0),
                       baseline_s=data.get("baseline_s", 3.0), recovery_s=data.get("recovery_s", 30.0),
                       rate_per_worker=data.get("rate_per_worker"),
                       stack=data.get("stack") or {}, contract=data.get("contract"), advisory=data.get("advisory"),
                       bounds=data.get("bounds") or {})
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

    def validate(self, source: str = "schedule") -> "Schedule":
        """Structure only; fault parameters, workers and links are checked against the stack."""
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise UsageError(f"{source}: seed={self.seed!r} must be a whole number")
        for name in ("baseline_s", "recovery_s"):
            _seconds(getattr(self, name), f"{source}: {name}")
        rate = self.rate_per_worker
        if rate is not None and (not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate <= 0):
            raise UsageError(f"{source}: rate_per_worker={rate!r} must be a positive number of requests/s per worker")
        if not isinstance(self.stack, dict):
            raise UsageError(f"{source}: stack={self.stack!r} must be an object of stack settings")
        ids: set[str] = set()
        for step in self.steps:
            _validate_step(step, ids, f"{source}: step {step.id!r}")
            ids.add(step.id)
        return self

    def workers_named(self) -> set[str]:
        names = set()
        for step in self.steps:
            parts = [step.apply or {}, step.match, step.create_models or {}, step.delete_models or {}, step.update_models or {}]
            if step.fallback:
                parts.append(step.fallback.match)
            for part in parts:
                for key in ("worker", "link"):
                    value = part.get(key)
                    if isinstance(value, str) and value.startswith("worker-"):
                        names.add(value)
        return names


def _step_json(step: Step) -> dict:
    d = {k: v for k, v in asdict(step).items() if v not in (None, {}) or k == "id"}
    if step.fallback is not None:
        d["fallback"] = step.fallback.to_json()
    if d.get("delay_s") == 0.0:
        del d["delay_s"]
    return d


def _step_from_json(raw, i: int, source: str) -> Step:
    if not isinstance(raw, dict):
        raise UsageError(f"{source}: step {i} is not an object")
    raw = dict(raw)
    fallback = raw.pop("fallback", None)
    try:
        step = Step(**raw)
    except TypeError as exc:
        raise UsageError(f"{source}: step {i}: {exc}") from None
    if fallback is not None:
        if not isinstance(fallback, dict) or set(fallback) - {"from", "match", "after_s"} or "after_s" not in fallback:
            raise UsageError(f"{source}: step {step.id!r}: fallback={fallback!r}; expected {{\"from\": EVENT, \"match\": {{...}}, \"after_s\": SECONDS}}")
        step.fallback = Fallback(after_s=fallback["after_s"], event=fallback.get("from", Event.WORKER_LIVE), match=fallback.get("match") or {})
    return step


def _seconds(value, where: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise UsageError(f"{where}={value!r} must be a non-negative number of seconds")


def _validate_step(step: Step, earlier: set[str], where: str) -> None:
    actions = [a for a in ACTIONS if getattr(step, a) is not None]
    if len(actions) != 1:
        raise UsageError(f"{where}: needs exactly one of {', '.join(ACTIONS)}")
    if step.id in earlier:
        raise UsageError(f"{where}: duplicate step id")
    if step.heal is not None and step.heal not in earlier:
        raise UsageError(f"{where}: heals {step.heal!r}, which is not an earlier step")
    for name in ("at", "delay_s", "within_s"):
        if getattr(step, name) is not None:
            _seconds(getattr(step, name), f"{where}: {name}")
    if step.on is not None and step.on not in EVENT_TRIGGERS:
        raise UsageError(f"{where}: unknown event {step.on!r}; expected one of: {', '.join(EVENT_TRIGGERS)}")
    if step.at is not None and step.on is not None:
        raise UsageError(f"{where}: give `at` or `on`, not both")
    if step.on in UNDER_TEST_EVENTS and step.fallback is None:
        raise UsageError(f"{where}: waits on {step.on!r}, a behaviour under test (a correct gateway may never show it), "
                         f"without a fallback; add \"fallback\": {{\"from\": \"worker_live\", \"match\": {{...}}, \"after_s\": S}}")
    if step.fallback is not None:
        fb = step.fallback
        if step.on is None:
            raise UsageError(f"{where}: a fallback needs an event trigger (`on`)")
        if fb.event not in HARNESS_EVENTS + (PREVIOUS_STEP,):
            raise UsageError(f"{where}: fallback from {fb.event!r}; expected a bug-independent event: "
                             f"{', '.join(HARNESS_EVENTS + (PREVIOUS_STEP,))}")
        if not isinstance(fb.match, dict):
            raise UsageError(f"{where}: fallback match={fb.match!r} must be an object")
        _seconds(fb.after_s, f"{where}: fallback after_s")
        if fb.after_s > step.within_s:
            raise UsageError(f"{where}: fallback after_s={fb.after_s} is longer than the step's within_s={step.within_s}; "
                             f"it could never fire (raise within_s or shorten the fallback)")
    if step.settle is not None and step.settle not in SETTLE_BOUNDS:
        _seconds(step.settle, f"{where}: settle")
    for action in ("create_models", "delete_models", "update_models"):
        spec = getattr(step, action)
        if spec is not None:
            _validate_management(action, spec, where)
            for m in spec.get("models") or []:
                if isinstance(m, str) and m.startswith("created:") and m[8:] not in earlier:
                    raise UsageError(f"{where}: {action} model {m!r} names no earlier step; expected created:STEP_ID")


MANAGEMENT_KEYS = {
    "create_models": {"worker", "via", "count", "prefix", "parallel", "read_until_bound"},
    "delete_models": {"worker", "via", "models", "start"},
    "update_models": {"worker", "via", "models", "route", "start"},
}
# where a model change comes from: a worker ("worker": "worker-2"), the front door, the DB itself
# (written as another replica or the admin UI would), or "worker": "each": every side in turn
# (each worker, the front door, the DB), so that every worker's reload path is judged
VIAS = ("direct", "front_door", "db")
EACH_SIDE = "each"


def _validate_management(action: str, spec, where: str) -> None:
    if not isinstance(spec, dict):
        raise UsageError(f"{where}: {action}={spec!r} must be an object")
    unknown = set(spec) - MANAGEMENT_KEYS[action]
    if unknown:
        raise UsageError(f"{where}: {action}: unknown key(s) {sorted(unknown)}; expected some of {sorted(MANAGEMENT_KEYS[action])}")
    if spec.get("via", "direct") not in VIAS:
        raise UsageError(f"{where}: {action}: via={spec['via']!r}; expected one of {', '.join(VIAS)}")
    start = spec.get("start", 0)
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise UsageError(f"{where}: {action} start={start!r}; expected a whole number >= 0 (the side the first model goes through)")
    if action == "create_models":
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise UsageError(f"{where}: create_models count={count!r} must be a whole number >= 1")
    else:
        models = spec.get("models")
        if not isinstance(models, list) or not models or not all(isinstance(m, str) and m for m in models):
            raise UsageError(f"{where}: {action} models={models!r}; expected a non-empty list of model names")
        for m in models:
            if m.startswith("seed:") and not m[5:].isdigit():
                raise UsageError(f"{where}: {action} model {m!r}; expected a name, seed:N for the stack's N-th model, "
                                 f"or created:STEP")
    if action == "update_models" and not (isinstance(spec.get("route"), str) and spec["route"].isalnum()):
        raise UsageError(f"{where}: update_models route={spec.get('route')!r}; expected a short alphanumeric name (the upstream path it answers on)")
