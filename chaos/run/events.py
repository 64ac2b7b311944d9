"""The run's event log: worker lifecycle, faults, readiness changes, as plain dicts on the
same monotonic clock as the operation history."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path


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
