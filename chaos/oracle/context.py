"""What every checker shares: the run's context, the result types, and time windows read from
the event log (when faults were active, when a worker's readiness said 200)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from chaos.run.events import Event
from chaos.run.history import Op

PASS, FAIL, NOT_CHECKED, UNKNOWN = "pass", "fail", "not_checked", "unknown"
CONTRACT, ADVISORY = "contract", "advisory"


@dataclass
class CheckContext:
    workers: list[str]
    models: list[str]  # valid from the start (seeded into the DB, or in the config file)
    events: list[dict]
    heal_t: float | None  # the recovery clock: heal-all done and every worker restarted late in the schedule listening
    end_t: float  # end of the run (the final probe round starts here)
    recovery_bound_s: float  # after heal, every pair must succeed within this
    propagation_bound_s: float  # after a model change returns 200, every worker must follow within this
    final_db_models: list[str] | None = None  # model names in the DB at the end (no model lost)
    final_db_error: str | None = None  # the final read of the model table failed: the DB lost them for now
    readiness_max_age_s: float = 2.0  # a readiness answer counts for this long
    baseline: tuple[float, float] | None = None  # the no-fault window before the schedule (no_stall's reference)
    stall_factor: float = 10.0  # no_stall: a chat slower than factor x the unloaded reference p99 ...
    # ... and slower than this is a stall: seconds, not the sub-second single chats a small machine
    # shows during a model reload under moderate CPU pressure (docs/findings/observed.md)
    stall_floor_s: float = 1.0
    stall_uncalibrated_s: float = 1.0  # the bound where no unloaded reference is calibrated yet
    stall_reference_s: float | None = None  # the chat p99 calibrated on an unloaded machine (machine.Calibration)
    front_door: bool = False  # the run sent traffic through the front door
    config_models: list[str] = field(default_factory=list)  # those of `models` in the config file, never in the DB
    plan: object = None  # coverage.Plan: the probe intervals planned (None: coverage not judged)
    max_blind_share: float = 0.05  # a contract invariant blind for more of its window than this is unknown
    # (start, end) of the stretches with the machine's CPU pressure above the run's limit: latency not judged there
    high_pressure: list[tuple[float, float]] = field(default_factory=list)

    def faults_active(self, t: float) -> list[str]:
        """Faults applied and not yet healed at monotonic time t."""
        active: dict[str, str] = {}
        for e in sorted(self.events, key=lambda e: e["t"]):  # backdated events may be out of order
            if e["t"] > t:
                break
            if e["kind"] == Event.FAULT_APPLIED and not e.get("instant"):
                active[e["step"]] = e["fault"]
            elif e["kind"] == Event.FAULT_HEALED:
                active.pop(e["step"], None)
        return list(active.values())

    def fault_windows(self) -> list[tuple[float, float]]:
        """(start, end) of every fault: from the start of its apply to its heal (the end of the
        run if never healed); an instant one (a restart, a kill) spans its apply."""
        windows, open_ = [], {}
        for e in sorted(self.events, key=lambda e: e["t"]):
            if e["kind"] == Event.FAULT_APPLIED:
                start = e.get("since", e["t"])
                if e.get("instant"):
                    windows.append((start, e["t"]))
                else:
                    open_[e["step"]] = start
            elif e["kind"] == Event.FAULT_HEALED and e["step"] in open_:
                windows.append((open_.pop(e["step"]), e["t"]))
        windows += [(start, self.end_t) for start in open_.values()]
        return sorted(windows)

    def events_of(self, kind: str, worker: str | None = None) -> list[dict]:
        return sorted((e for e in self.events if e["kind"] == kind and (worker is None or e.get("worker") == worker)),
                      key=lambda e: e["t"])


@dataclass
class Violation:
    worker: str
    model: str | None
    count: int
    first: dict
    last: dict
    faults_active: list[str]
    via: str | None = None  # "front_door": what a client of the front door got (worker = who answered)

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None or k == "model"}


@dataclass
class InvariantResult:
    name: str
    description: str
    status: str
    violations: list[Violation] = field(default_factory=list)
    note: str = ""
    role: str = CONTRACT  # contract (decides the verdict) or advisory (reported only)
    error: str = ""  # the checker raised: status unknown
    coverage: dict | None = None  # what of its window the run observed (oracle.coverage)

    def to_json(self) -> dict:
        d = {"name": self.name, "description": self.description, "status": self.status, "role": self.role,
             "note": self.note, "violations": [v.to_json() for v in self.violations]}
        if self.error:
            d["error"] = self.error
        if self.coverage is not None:
            d["coverage"] = self.coverage
        return d

    @property
    def first_violation(self) -> Violation | None:
        return min(self.violations, key=lambda v: v.first["t"], default=None)


def result(name: str, description: str, bad: list[Op], ctx: CheckContext, note: str = "",
           unknown: str = "") -> InvariantResult:
    """fail with the offending operations; else unknown when `unknown` says what stayed
    undetermined (timeouts where a definite answer was needed); else pass."""
    if bad:
        return InvariantResult(name, description, FAIL, group(bad, ctx), note="; ".join(n for n in (note, unknown) if n))
    if unknown:
        return InvariantResult(name, description, UNKNOWN, note="; ".join(n for n in (unknown, note) if n))
    return InvariantResult(name, description, PASS, note=note)


def op_brief(op: Op) -> dict:
    d = {"id": op.id, "t": op.t, "t0": op.t0, "f": op.f, "worker": op.worker, "cls": op.cls, "status": op.status}
    for key in ("model", "via", "served_by"):
        if getattr(op, key):
            d[key] = getattr(op, key)
    if op.detail:
        d["detail"] = op.detail[:200]
    if op.value is not None and not isinstance(op.value, (list, dict)):
        d["value"] = op.value
    return d


def group(ops: list[Op], ctx: CheckContext) -> list[Violation]:
    """One violation per (worker, model, via), in order of the first offending operation; through the
    front door, the worker is the one that answered."""
    by_key: dict[tuple, list[Op]] = {}
    for op in ops:
        worker = (op.served_by or op.worker) if op.via else op.worker
        by_key.setdefault((worker, op.model, op.via), []).append(op)
    return [
        Violation(w, m, len(g), op_brief(g[0]), op_brief(g[-1]), ctx.faults_active(g[0].t), via)
        for (w, m, via), g in sorted(by_key.items(), key=lambda kv: kv[1][0].t)
    ]


def marker(f: str, worker: str, t: float, model: str | None, cls: str) -> Op:
    """A stand-in operation for "nothing happened where something should have" (no answer, never listed)."""
    return Op(id=0, type="info", f=f, worker=worker, t0=t, t=t, model=model, cls=cls)


def direct(ops: list[Op], f: str = "chat") -> list[Op]:
    """Operations of kind f sent straight at a worker (not through the front door)."""
    return [op for op in ops if op.f == f and op.via is None]


def overlaps(t0: float, t1: float, windows: list[tuple[float, float]], margin_after: float = 0.0) -> bool:
    return any(t0 <= end + margin_after and t1 >= start for start, end in windows)


class ReadinessIndex:
    """Answers: what did this worker's readiness last say before time t?"""

    def __init__(self, ops: list[Op]):
        self._times: dict[str, list[float]] = {}
        self._status: dict[str, list[int | None]] = {}
        for op in sorted((o for o in ops if o.f == "readiness"), key=lambda o: o.t):
            self._times.setdefault(op.worker, []).append(op.t)
            self._status.setdefault(op.worker, []).append(op.status)

    def ready_at(self, worker: str, t: float, max_age: float) -> bool:
        times = self._times.get(worker, [])
        i = bisect.bisect_right(times, t) - 1
        return i >= 0 and t - times[i] <= max_age and self._status[worker][i] == 200

    def ready_spans(self, worker: str, max_age: float) -> list[tuple[float, float]]:
        """The times at which ready_at(worker, t, max_age) holds, as spans: from each readiness 200
        until max_age later or the next answer, whichever comes first."""
        times, status = self._times.get(worker, []), self._status.get(worker, [])
        ends = [*times[1:], float("inf")]
        return [(t, min(t + max_age, end)) for t, s, end in zip(times, status, ends) if s == 200]
