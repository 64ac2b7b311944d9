"""Worker faults: restart, kill (a crash: the restart policy brings it back), stop (heal: start),
pause (heal: resume), and a rolling restart of the fleet, one at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass

from chaos.errors import UsageError
from chaos.faults.base import Fault, check_positive, register
from chaos.run.events import Event
from chaos.stack.base import RESTART_MODES


def _check_worker(stack, worker: str) -> None:
    if worker not in stack.worker_names():
        raise UsageError(f"unknown worker {worker!r}; expected one of: {', '.join(stack.worker_names())}")


@dataclass
class _WorkerFault(Fault):
    worker: str = "worker-1"

    def validate(self):
        _check_worker(self.stack, self.worker)


@register("worker_restart")
@dataclass
class WorkerRestart(_WorkerFault):
    """Stop, then start again at once. graceful: SIGTERM with the stack's grace (an operator's
    restart, a rollout); crash: SIGKILL (an OOM kill or a failed liveness probe), which does not
    spend the grace period on a worker whose DB is gone."""

    mode: str = "graceful"

    def validate(self):
        super().validate()
        if self.mode not in RESTART_MODES:
            raise UsageError(f"worker_restart mode={self.mode!r}; expected one of: {', '.join(RESTART_MODES)}")

    def apply(self):
        self.stack.restart_worker(self.worker, mode=self.mode)


@register("worker_kill")
@dataclass
class WorkerKill(_WorkerFault):
    """SIGKILL: a crash; the restart policy starts it again after its backoff."""

    def apply(self):
        self.stack.kill_worker(self.worker, stay_stopped=False)


@register("worker_stop")
@dataclass
class WorkerStop(_WorkerFault):
    def apply(self):
        self.stack.stop_worker(self.worker)

    def heal(self):
        self.stack.start_worker(self.worker)


@register("worker_pause")
@dataclass
class WorkerPause(_WorkerFault):
    def apply(self):
        self.stack.pause_worker(self.worker)

    def heal(self):
        self.stack.resume_worker(self.worker)


@register("rolling_restart")
@dataclass
class RollingRestart(Fault):
    """Restart every worker in turn, as a rollout does: the next one when the last is ready, or
    `after_live_s` after it answers on its port (a correct worker may never say ready while its
    DB is down: the rollout must not wait on the behaviour under test), or after ready_timeout_s.
    Each hand-over is an event saying which of the three it was."""

    after_live_s: float = 20.0
    ready_timeout_s: float = 90.0

    def validate(self):
        check_positive("rolling_restart", "after_live_s", self.after_live_s)
        check_positive("rolling_restart", "ready_timeout_s", self.ready_timeout_s)

    def apply(self):
        events = self.stack.events
        for name in self.stack.worker_names():
            since = time.monotonic()
            self.stack.restart_worker(name)

            def next_one(name=name, since=since):
                if events.first(Event.WORKER_READY, after=since, worker=name):
                    return "ready"
                live = events.first(Event.WORKER_LIVE, after=since, worker=name)
                if live and time.monotonic() >= live["t"] + self.after_live_s:
                    return "fallback"
                return None

            by = events.wait(next_one, self.ready_timeout_s) or "deadline"
            events.record(Event.ROLLING_RESTART_NEXT, worker=name, by=by)
