"""The restart policy and readiness watch of the local workers, in one background thread:
- a worker that exits on its own is started again after a capped, doubling backoff;
- a freshly spawned worker is polled on /health/liveliness until it answers at all (event
  `worker_live`: the process listens; bug-independent), then on /health/readiness until its
  first 200 (event `worker_ready`: under test, a correct worker may never say it);
- an exit is reported to `on_exit` (the front door takes the worker out at once, as Kubernetes
  takes a pod whose container died out of its Service)."""

from __future__ import annotations

import threading
import time
from typing import Callable

from chaos.run.events import Event, EventLog
from chaos.stack.base import WorkerState
from chaos.stack.components.litellm_worker import LiteLLMWorker
from chaos.stack.config import RestartPolicy
from chaos.traffic.litellm_api import LiteLLMClient

POLL_INTERVAL_S = 0.1
# a starting worker under probe load can take seconds to answer; a short timeout would miss its 200
READINESS_TIMEOUT_S = 3.0
LIVENESS_TIMEOUT_S = 1.0


class Supervisor(threading.Thread):
    def __init__(
        self,
        workers: dict[str, LiteLLMWorker],
        lock: threading.RLock,
        events: EventLog,
        policy: RestartPolicy,
        on_change: Callable[[], None],
        on_exit: Callable[[str], None] = lambda name: None,
        on_spawn: Callable[[str], None] = lambda name: None,
    ):
        super().__init__(name="chaos-supervisor", daemon=True)
        self.workers = workers
        self.lock = lock
        self.events = events
        self.policy = policy
        self.on_change = on_change
        self.on_exit = on_exit
        self.on_spawn = on_spawn
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(5)

    def run(self) -> None:
        with LiteLLMClient(timeout=READINESS_TIMEOUT_S) as http:
            while not self._stop_event.wait(POLL_INTERVAL_S):
                for worker in list(self.workers.values()):
                    self._check(worker, http)

    def _check(self, worker: LiteLLMWorker, http: LiteLLMClient) -> None:
        with self.lock:
            state = worker.state
            if state in (WorkerState.STARTING, WorkerState.READY) and worker.process.returncode() is not None:
                self._exited(worker)
                return
            if state == WorkerState.BACKOFF and time.monotonic() >= worker.restart_due:
                worker.spawn()
                self.events.record(Event.WORKER_RESTARTED, worker=worker.name, pid=worker.process.pid, spawn=worker.spawns,
                                   consecutive_crashes=worker.consecutive_crashes, by="restart_policy")
                self.events.record(Event.WORKER_SPAWNED, worker=worker.name, pid=worker.process.pid, spawn=worker.spawns)
                self.on_spawn(worker.name)
                self.on_change()
                return
            if state != WorkerState.STARTING:
                return
            spawn = worker.spawns
            live = worker.live_spawn == spawn
        # polls outside the lock: they may take up to the client timeout
        if not live:
            self._check_live(worker, http, spawn)
            return
        if http.ready(worker.url):
            with self.lock:
                if worker.state == WorkerState.STARTING and worker.spawns == spawn:
                    worker.state = WorkerState.READY
                    self.events.record(Event.WORKER_READY, worker=worker.name, pid=worker.process.pid, spawn=spawn,
                                       after_s=round(time.monotonic() - worker.spawned_at, 3))
            self.on_change()

    def _check_live(self, worker: LiteLLMWorker, http: LiteLLMClient, spawn: int) -> None:
        if not http.listens(worker.url, LIVENESS_TIMEOUT_S):
            return
        with self.lock:
            if worker.spawns == spawn and worker.live_spawn != spawn:
                worker.live_spawn = spawn
                self.events.record(Event.WORKER_LIVE, worker=worker.name, pid=worker.process.pid, spawn=spawn,
                                   after_s=round(time.monotonic() - worker.spawned_at, 3))

    def _exited(self, worker: LiteLLMWorker) -> None:
        rc = worker.process.returncode()
        uptime = time.monotonic() - worker.spawned_at
        self.events.record(Event.WORKER_EXITED, worker=worker.name, pid=worker.process.pid, rc=rc, spawn=worker.spawns,
                           uptime_s=round(uptime, 3))
        worker.process.kill()  # reap its process group: the Prisma engine may outlive it
        self.on_exit(worker.name)
        if not self.policy.enabled:
            worker.state = WorkerState.CRASHED
        else:
            worker.schedule_restart(self.policy, self.events)
        self.on_change()
