"""The Stack interface that every backend implements (local processes; Docker Compose)."""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from pathlib import Path

from ..events import EventLog


class WorkerState(str, enum.Enum):
    STARTING = "starting"  # spawned, readiness not yet 200
    READY = "ready"  # readiness answered 200 since the last spawn
    PAUSED = "paused"  # SIGSTOP
    BACKOFF = "backoff"  # exited on its own, restart pending
    STOPPED = "stopped"  # stopped on purpose: stays stopped
    CRASHED = "crashed"  # exited on its own and the restart policy is off


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    url: str
    pid: int | None
    state: WorkerState
    spawns: int  # how many times it was started


class Stack(abc.ABC):
    """A running incident stack. Use as a context manager: leaving it always tears it down."""

    backend: str
    run_id: str
    run_dir: Path
    master_key: str
    events: EventLog

    @abc.abstractmethod
    def start(self) -> "Stack": ...

    @abc.abstractmethod
    def close(self, failed: bool = False) -> None: ...

    def __enter__(self) -> "Stack":
        try:
            return self.start()
        except BaseException:
            self.close(failed=True)
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(failed=exc_type is not None)

    @abc.abstractmethod
    def workers(self) -> list[WorkerInfo]: ...

    def worker_names(self) -> list[str]:
        return [w.name for w in self.workers()]

    def worker_url(self, name: str) -> str:
        return next(w.url for w in self.workers() if w.name == name)

    @abc.abstractmethod
    def start_worker(self, name: str) -> None: ...

    @abc.abstractmethod
    def stop_worker(self, name: str, *, stay_stopped: bool = True) -> None: ...

    @abc.abstractmethod
    def kill_worker(self, name: str, *, stay_stopped: bool = False) -> None: ...

    @abc.abstractmethod
    def pause_worker(self, name: str) -> None: ...

    @abc.abstractmethod
    def resume_worker(self, name: str) -> None: ...

    def restart_worker(self, name: str) -> None:
        self.stop_worker(name)
        self.start_worker(name)

    @abc.abstractmethod
    def wait_ready(self, name: str, timeout: float | None = None) -> None: ...

    @abc.abstractmethod
    def component_logs(self) -> dict[str, Path]: ...

    @abc.abstractmethod
    def describe(self) -> dict:
        """What ran: backend, LiteLLM version, Prisma engine, ports; recorded in every verdict."""
