"""A warm stack, reused between runs: starting a stack (LiteLLM workers take tens of seconds each)
is most of a short run's time.

At most one stack is kept (a small machine runs one at a time). A run whose stack settings
match the kept one gets it after a reset (SupervisedStack.reset: faults healed, the DB as
seeded, touched workers restarted); one whose settings differ gets a fresh stack, and the old one
is torn down (or, with reuse_only, the run stops with a line saying what differs). A reset that
fails tears the stack down and starts a fresh one; every run records which of these happened."""

from __future__ import annotations

import time
from dataclasses import fields

from chaos.errors import ChaosError, UsageError
from chaos.stack import open_stack
from chaos.stack.config import StackConfig

# settings that say where evidence goes, not what the stack is
_NOT_IDENTITY = ("evidence_dir", "keep_logs", "ready_timeout_s")


def identity(config: StackConfig) -> dict:
    return {f.name: getattr(config, f.name) for f in fields(config) if f.name not in _NOT_IDENTITY}


def differences(a: StackConfig, b: StackConfig) -> list[str]:
    ia, ib = identity(a), identity(b)
    return [f"{k}: {ia[k]!r} vs {ib[k]!r}" for k in ia if ia[k] != ib[k]]


class StackPool:
    def __init__(self, backend: str = "local", *, log=print, fresh: bool = False, reuse_only: bool = False):
        self.backend = backend
        self.log = log
        self.fresh = fresh  # --fresh-stack: every run gets a stack of its own
        self.reuse_only = reuse_only  # --reuse-only: a run that cannot reuse the warm stack stops
        self.stack = None
        self.touched: set[str] = set()
        self.runs_on_stack = 0

    def acquire(self, config: StackConfig) -> tuple[object, dict]:
        """A started stack for `config`, and what was done to get it (for the evidence). The
        `since` in it is where the run's own events begin (its reset included)."""
        since = time.monotonic()
        if self.stack is not None and not self.fresh:
            diff = differences(self.stack.config, config)
            if not diff and self.stack.status == "ready":
                try:
                    report = self.stack.reset(self.touched)
                    self.runs_on_stack += 1
                    return self.stack, {"reused": True, "run_on_stack": self.runs_on_stack, "reset": report, "since": since}
                except ChaosError as exc:
                    why = f"the reset failed ({exc}); started a fresh stack"
                    self.log(f"warm stack {self.stack.run_id}: {why}")
                    self.close()
                    return self._start(config, {"reused": False, "why": why, "since": None})
            if diff and self.reuse_only:
                raise UsageError(f"--reuse-only: the warm stack does not match ({'; '.join(diff)})")
            why = f"the warm stack does not match ({'; '.join(diff) or 'not ready'}): started a fresh one"
            self.log(why)
            self.close()
            return self._start(config, {"reused": False, "why": why, "since": None})
        return self._start(config, {"reused": False, "why": "--fresh-stack" if self.fresh else "no warm stack yet",
                                    "since": None})

    def _start(self, config: StackConfig, info: dict):
        self.stack = open_stack(config, self.backend, log=self.log)
        self.runs_on_stack = 1
        self.touched = set()
        self.stack.start()  # a stack that fails to start stays here: the run exports its logs, then releases it
        return self.stack, info | {"run_on_stack": 1, "startup": dict(self.stack.timings)}

    def release(self, touched: set[str], healthy: bool) -> None:
        """The run is over: what it touched is reset before the next one; a stack that is not
        healthy any more (or with --fresh-stack, any) is torn down."""
        self.touched = touched
        if self.fresh or not healthy:
            self.close()

    def close(self) -> None:
        if self.stack is not None:
            stack, self.stack = self.stack, None
            stack.close()

    def __enter__(self) -> "StackPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
