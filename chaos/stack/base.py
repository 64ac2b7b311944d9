"""The Stack interface that every backend implements (local processes; Docker Compose)."""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from chaos.run.events import EventLog

if TYPE_CHECKING:  # the front door imports the stack's types
    from chaos.stack.components.front_door import FrontDoor

RESTART_MODES = ("graceful", "crash")  # SIGTERM with grace, or SIGKILL


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


@runtime_checkable
class Process(Protocol):
    """A component's process, as the stack and the faults use it: a local ManagedProcess
    (chaos.host.procs) or a compose service's ContainerProcess (stack.backends.container)."""

    name: str
    log_path: Path

    def start(self) -> None: ...

    @property
    def pid(self) -> int | None: ...

    def running(self) -> bool: ...

    def returncode(self) -> int | None: ...

    def send(self, sig: int) -> bool: ...

    def pause(self) -> bool: ...

    def resume(self) -> bool: ...

    def paused(self) -> bool: ...

    def stop(self, timeout: float = 10.0) -> int | None: ...

    def kill(self) -> int | None: ...

    def record(self) -> dict: ...

    def log_tail(self, lines: int = 15) -> str: ...


class PostgresHandle(Protocol):
    """The stack's PostgreSQL: faults stop, pause and query it; the runner reads the model table."""

    port: int
    process: Process

    def dsn(self, database: str = ..., port: int | None = None) -> str: ...

    def start(self) -> None: ...


class HAProxyHandle(Protocol):
    """The HAProxy in front of PostgreSQL: its runtime API (server maint/drain/ready) and process."""

    port: int
    process: Process

    def runtime(self, command: str, timeout: float = ...) -> str: ...

    def server_status(self) -> str: ...

    def wait_server_status(self, wanted: str, timeout: float) -> bool: ...

    def start(self) -> None: ...


class ToxiproxyHandle(Protocol):
    """Toxiproxy: its API (a toxiproxy-python client) and its links (proxy -> (listen port or None, upstream))."""

    links: dict
    process: Process

    def api(self): ...

    def state(self) -> dict: ...

    def reset(self) -> None: ...


class Stack(abc.ABC):
    """A running incident stack. Use as a context manager: leaving it always tears it down.

    Every handle a fault, the interpreter or the runner uses is declared here, so none of them
    reaches into a backend's internals."""

    backend: str
    run_id: str
    run_dir: Path
    master_key: str
    events: EventLog
    status: str  # new | starting | ready | kept | stopped | failed
    postgres: PostgresHandle
    haproxy: HAProxyHandle
    toxiproxy: ToxiproxyHandle
    front_door: FrontDoor | None  # when the stack has one
    upstream_url: str  # as the workers reach the fake upstream
    reload_interval_s: float  # LiteLLM's model reload interval on this stack

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

    @abc.abstractmethod
    def restart_worker(self, name: str, mode: str = "graceful") -> None:
        """mode: one of RESTART_MODES."""

    @abc.abstractmethod
    def wait_ready(self, name: str, timeout: float | None = None) -> None: ...

    @abc.abstractmethod
    def redact(self, text: str) -> str:
        """The text with the run's secrets removed."""

    @abc.abstractmethod
    def save_state(self) -> None:
        """Write the run's registry entry (after a component was started again)."""

    @abc.abstractmethod
    def component_logs(self) -> dict[str, Path]: ...

    @abc.abstractmethod
    def begin_run(self, events_path: Path, since: float | None = None) -> dict[str, int]:
        """A run starts on this stack: its events go to events_path; returns the logs' marks."""

    @abc.abstractmethod
    def end_run(self) -> None: ...

    @abc.abstractmethod
    def export_evidence(self, target: Path, marks: dict[str, int]) -> None: ...

    @abc.abstractmethod
    def reset(self, touched: set[str]) -> dict:
        """Back to the state a run starts from (see SupervisedStack.reset)."""

    @abc.abstractmethod
    def describe(self) -> dict:
        """What ran: backend, LiteLLM version, Prisma engine, ports; recorded in every verdict."""
