"""The one wait helper: poll a condition until it holds, the time is up, or waiting is pointless.

    wait_until(lambda: accepts(port), 10, give_up=lambda: not process.running(),
               fail=lambda: StackStartError(f"nothing listens on {port}; log tail: ..."))

A predicate that raises counts as "not yet" (a probe that cannot connect is the usual case). On
timeout or give-up it raises what `fail()` builds (built then, so its message can say how things
stood at the end), or returns None when there is no `fail`."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, *, interval: float = 0.05,
               give_up: Callable[[], bool] | None = None, fail: Callable[[], Exception] | None = None) -> T | None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - "not yet"
            value = None
        if value:
            return value
        if time.monotonic() > deadline or (give_up is not None and give_up()):
            if fail is not None:
                raise fail()
            return None
        time.sleep(interval)
