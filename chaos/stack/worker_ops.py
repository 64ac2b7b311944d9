"""A stack's worker operations: start, stop, kill, pause, resume, restart and wait until ready,
each recorded in the event log, with the front door told when a worker's process comes or goes.
A mixin of SupervisedStack (it uses its _workers, _lock, events, config and front_door)."""

from __future__ import annotations

from chaos.errors import UsageError, WorkerNotReady
from chaos.host.waiting import wait_until
from chaos.run.events import Event
from chaos.stack.base import WorkerInfo, WorkerState
from chaos.stack.components.litellm_worker import LiteLLMWorker

# A worker waited on with its DB healthy (stack start, warm reset) that exits this often without
# answering cannot start here (an import error, say): give up at once rather than at the timeout.
START_CRASH_LOOP_EXITS = 3


class WorkerOperations:
    def workers(self) -> list[WorkerInfo]:
        with self._lock:
            return [WorkerInfo(w.name, w.url, w.process.pid, w.state, w.spawns) for w in self._workers.values()]

    def _worker(self, name: str) -> LiteLLMWorker:
        try:
            return self._workers[name]
        except KeyError:
            raise UsageError(f"no worker {name!r} in run {self.run_id}; workers: {', '.join(self._workers)}") from None

    def start_worker(self, name: str) -> None:
        with self._lock:
            worker = self._worker(name)
            if worker.process.running():
                return
            worker.spawn()
            self.events.record(Event.WORKER_SPAWNED, worker=name, pid=worker.process.pid, spawn=worker.spawns)
        self._admit(name)
        self.save_state()

    def _take_out(self, name: str) -> None:
        """The front door stops routing to a worker whose process stops (Kubernetes drops a
        terminating or crashed pod from its endpoints)."""
        self._front_door_says(Event.FRONT_DOOR_TOOK_OUT, name, lambda: self.front_door.take_out(name))

    def _admit(self, name: str) -> None:
        """A new process of the worker: the front door routes to it from its first successful probe."""
        self._front_door_says(Event.FRONT_DOOR_ADMITS_AFTER_PROBE, name, lambda: self.front_door.admit_after_probe(name))

    def _front_door_says(self, what: Event, name: str, call) -> None:
        if self.front_door is None:
            return
        try:
            call()
            self.events.record(what, worker=name)
        except OSError as exc:
            self.events.record(Event.FRONT_DOOR_RUNTIME_FAILED, worker=name, action=what, error=str(exc))

    def stop_worker(self, name: str, *, stay_stopped: bool = True, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`. With stay_stopped=False the restart policy
        brings it back, as if it had exited on its own."""
        with self._lock:
            worker = self._worker(name)
            worker.state = WorkerState.STOPPED  # the supervisor leaves it alone from here
        self._take_out(name)
        rc = worker.process.stop(timeout)
        self.events.record(Event.WORKER_STOPPED, worker=name, rc=rc, signal="SIGTERM", on_purpose=stay_stopped)
        self._after_exit(worker, stay_stopped)

    def kill_worker(self, name: str, *, stay_stopped: bool = False) -> None:
        """SIGKILL: a crash. By default the restart policy brings it back, as Kubernetes would."""
        with self._lock:
            worker = self._worker(name)
            worker.state = WorkerState.STOPPED
        self._take_out(name)
        rc = worker.process.kill()
        self.events.record(Event.WORKER_KILLED, worker=name, rc=rc, signal="SIGKILL", on_purpose=stay_stopped)
        self._after_exit(worker, stay_stopped)

    def _after_exit(self, worker: LiteLLMWorker, stay_stopped: bool) -> None:
        if not stay_stopped and self.config.restart_policy.enabled:
            with self._lock:
                worker.schedule_restart(self.config.restart_policy, self.events)
        self.save_state()

    def pause_worker(self, name: str) -> None:
        with self._lock:
            worker = self._worker(name)
            if worker.process.pause():
                worker.paused_from = worker.state
                worker.state = WorkerState.PAUSED
                self.events.record(Event.WORKER_PAUSED, worker=name, pid=worker.process.pid)

    def resume_worker(self, name: str) -> None:
        with self._lock:
            worker = self._worker(name)
            if worker.state == WorkerState.PAUSED and worker.process.resume():
                worker.state = worker.paused_from
                self.events.record(Event.WORKER_RESUMED, worker=name, pid=worker.process.pid)

    def restart_worker(self, name: str, mode: str = "graceful") -> None:
        """Stop (graceful: SIGTERM with grace; crash: SIGKILL) and start again at once."""
        if mode == "crash":
            self.kill_worker(name, stay_stopped=True)
        else:
            self.stop_worker(name)
        self.start_worker(name)
        self.events.record(Event.WORKER_RESTARTED, worker=name, by="operator", mode=mode)

    def wait_ready(self, name: str, timeout: float | None = None) -> None:
        """Block until the worker's readiness answers 200 for its current spawn."""
        timeout = self.config.ready_timeout_s if timeout is None else timeout
        worker = self._worker(name)

        def state() -> WorkerState:
            with self._lock:
                return worker.state

        def exits() -> int:
            return len(self.events.events(Event.WORKER_EXITED, worker=name))

        exits_before = exits()

        def crash_loop() -> bool:
            return exits() - exits_before >= START_CRASH_LOOP_EXITS

        def not_ready() -> WorkerNotReady:
            if state() in (WorkerState.STOPPED, WorkerState.CRASHED):
                why = f"it is {state().value}"
            elif crash_loop():
                why = f"it exited {START_CRASH_LOOP_EXITS} times without answering (a crash loop at start)"
            else:
                why = f"no readiness 200 within {timeout:.0f} s"
            return WorkerNotReady(f"{name} ({worker.url}) is not ready: {why}, {exits()} exit(s) so far; "
                                  f"log tail ({worker.process.log_path}):\n{self.redact(worker.process.log_tail(20))}")

        wait_until(lambda: state() == WorkerState.READY, timeout,
                   give_up=lambda: state() in (WorkerState.STOPPED, WorkerState.CRASHED) or crash_loop(), fail=not_ready)
