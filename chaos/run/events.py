"""The run's event log: worker lifecycle, faults, readiness changes, as plain dicts on the
same monotonic clock as the operation history. Every kind of event is an `Event` below."""

from __future__ import annotations

import enum
import json
import threading
import time
from pathlib import Path


class Event(enum.StrEnum):
    """Every kind of event in the log (a str: `event["kind"] == Event.WORKER_READY`)."""

    # the stack and its reset
    INFRA_READY = "infra_ready"
    SCHEMA_APPLIED = "schema_applied"
    MODELS_SEEDED = "models_seeded"
    MODELS_VERIFIED = "models_verified"
    RESET_STARTED = "reset_started"
    RESET_DONE = "reset_done"
    # a worker's lifecycle (stack.restarts, the worker operations)
    WORKER_SPAWNED = "worker_spawned"
    WORKER_LIVE = "worker_live"  # its liveness endpoint answers: the process listens
    WORKER_READY = "worker_ready"  # its readiness endpoint says 200
    WORKER_STOPPED = "worker_stopped"
    WORKER_KILLED = "worker_killed"
    WORKER_EXITED = "worker_exited"  # on its own
    WORKER_PAUSED = "worker_paused"
    WORKER_RESUMED = "worker_resumed"
    WORKER_BACKOFF = "worker_backoff"
    WORKER_RESTARTED = "worker_restarted"
    # the front door's membership
    FRONT_DOOR_READY = "front_door_ready"
    FRONT_DOOR_TOOK_OUT = "front_door_took_out"
    FRONT_DOOR_ADMITS_AFTER_PROBE = "front_door_admits_after_probe"
    FRONT_DOOR_RUNTIME_FAILED = "front_door_runtime_failed"
    # the schedule
    BASELINE_MET = "baseline_met"
    STEP_FIRED = "step_fired"
    FAULT_APPLIED = "fault_applied"
    FAULT_HEALED = "fault_healed"
    FAULT_HEAL_FAILED = "fault_heal_failed"
    LINK_FLAP_DOWN = "link_flap_down"
    LINK_FLAP_UP = "link_flap_up"
    ROLLING_RESTART_NEXT = "rolling_restart_next"
    MANAGEMENT_RETURNED = "management_returned"
    MODELS_CREATED = "models_created"
    HEAL_ALL = "heal_all"
    RECOVERY_CLOCK_WAITED = "recovery_clock_waited"
    # what the database saw (stack.components.model_reads)
    DB_ATTEMPTS = "db_attempts"
    MODEL_TABLE_READ = "model_table_read"
    MODEL_QUERY_SEEN = "model_query_seen"  # a step's trigger fired on a model_table_read
    # the harness watching itself and the gateway
    PROBE_STALL = "probe_stall"
    LOAD_SHED = "load_shed"
    STEADY_STATE_DEVIATED = "steady_state_deviated"
    RUN_DECIDED = "run_decided"


# Events the harness causes, or that only say the process exists: a step may wait on them alone.
# worker_live (the worker's liveness endpoint answers) is process-level: LiteLLM's liveness is
# always alive once it listens, fixed or not.
HARNESS_EVENTS = (Event.WORKER_SPAWNED, Event.WORKER_LIVE, Event.MANAGEMENT_RETURNED, Event.WORKER_STOPPED,
                  Event.WORKER_KILLED, Event.WORKER_PAUSED, Event.WORKER_RESUMED, Event.FAULT_APPLIED,
                  Event.FAULT_HEALED, Event.LINK_FLAP_DOWN, Event.LINK_FLAP_UP, Event.BASELINE_MET)
# Events that depend on the gateway's behaviour, the thing under test: waiting on one needs a fallback.
UNDER_TEST_EVENTS = (Event.WORKER_READY, Event.MODEL_QUERY_SEEN, Event.WORKER_EXITED, Event.WORKER_BACKOFF,
                     Event.WORKER_RESTARTED)


class EventLog:
    def __init__(self, path: Path | None = None):
        self._events: list[dict] = []
        self._cond = threading.Condition(threading.RLock())  # wait()'s predicate reads the log too
        self._path = path

    def record(self, kind: str, *, wall: float | None = None, t: float | None = None, **fields) -> dict:
        """Record an event now, or when it happened earlier: at `wall` (time.time(), e.g. read from
        a log) or at monotonic `t`."""
        now_t, now_wall = time.monotonic(), time.time()
        if wall is not None:
            t = now_t - (now_wall - wall)
        elif t is not None:
            wall = now_wall - (now_t - t)
        event = {"t": now_t if t is None else t, "wall": now_wall if wall is None else wall, "kind": kind, **fields}
        with self._cond:
            self._events.append(event)
            if self._path is not None:
                with open(self._path, "a") as f:
                    f.write(json.dumps(event) + "\n")
            self._cond.notify_all()
        return event

    def copy_to(self, path: Path, since: float | None = None) -> "EventLog":
        """A new log writing to `path`, holding this one's events from monotonic time `since` on
        (all of them with None): a run on a warm stack gets its own log, with its reset in it."""
        new = EventLog(path)
        with self._cond:
            kept = [e for e in self._events if since is None or e["t"] >= since]
        with new._cond:
            new._events = list(kept)
            with open(path, "a") as f:
                f.writelines(json.dumps(e) + "\n" for e in kept)
        return new

    def events(self, kind: str | None = None, **match) -> list[dict]:
        with self._cond:
            return [e for e in self._events if _matches(e, kind, match)]

    def first(self, kind: str, *, after: float = 0.0, **match) -> dict | None:
        """The first event of `kind` (with the given fields) at or after monotonic time `after`, now."""
        with self._cond:
            return next((e for e in self._events if e["t"] >= after and _matches(e, kind, match)), None)

    def wait(self, predicate, timeout: float):
        """Block until predicate() returns something other than None (re-checked whenever an event
        is recorded, and at least every 50 ms), or `timeout` passes: returns it, or None."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = predicate()
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(remaining, 0.05))

    def wait_for(self, kind: str, timeout: float, *, after: float = 0.0, **match) -> dict | None:
        """The first event of `kind` (with the given fields) at or after monotonic time `after`."""
        return self.wait(lambda: self.first(kind, after=after, **match), timeout)

def _matches(event: dict, kind: str | None, match: dict) -> bool:
    return (kind is None or event["kind"] == kind) and all(event.get(k) == v for k, v in match.items())
