"""A compose service's container behind the same interface as a local ManagedProcess (start,
stop, kill, pause, running, returncode, log), so the supervisor, the worker operations and the
faults drive both backends with the same code. The container's output is followed into the run's
log folder, as a local process writes its log there."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from chaos.host.procs import tail
from chaos.host.waiting import wait_until

_SIGNAL_NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGKILL: "SIGKILL", signal.SIGINT: "SIGINT", signal.SIGUSR1: "SIGUSR1"}


class ContainerProcess:
    def __init__(self, client, container_name: str, name: str, log_path: Path, stop_signal: int = signal.SIGTERM):
        self.client = client
        self.container_name = container_name
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        self._follower: threading.Thread | None = None

    def _container(self):
        return self.client.containers.get(self.container_name)

    def _state(self) -> dict:
        import docker

        try:
            return self._container().attrs["State"]
        except docker.errors.NotFound:
            return {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- chaos: starting {self.name} (container {self.container_name})\n".encode())
        self._container().start()
        self.follow_logs()

    def follow_logs(self, since: int | None = None) -> None:
        """Append the container's output from `since` (epoch seconds; default: now; None for all of it
        is spelled 1, the SDK refuses 0) to the log file (one thread per start)."""
        since = int(time.time()) - 1 if since is None else max(1, since)
        self._follower = threading.Thread(target=self._follow, args=(since,), name=f"chaos-logs-{self.name}", daemon=True)
        self._follower.start()

    def _follow(self, since: int) -> None:
        import docker

        try:
            stream = self._container().logs(stream=True, follow=True, since=since)
            with open(self.log_path, "ab") as log:
                for chunk in stream:
                    log.write(chunk)
                    log.flush()
        except (docker.errors.DockerException, OSError):
            return  # the container is gone: its log ends here

    @property
    def pid(self) -> int | None:
        return self._state().get("Pid") or None

    def running(self) -> bool:
        return bool(self._state().get("Running"))

    def returncode(self) -> int | None:
        state = self._state()
        if not state or state.get("Running"):
            return None
        return state.get("ExitCode")

    def send(self, sig: int) -> bool:
        if sig == signal.SIGSTOP:
            return self.pause()
        if sig == signal.SIGCONT:
            return self.resume()
        if not self.running():
            return False
        self._container().kill(signal=_SIGNAL_NAMES.get(sig, int(sig)))
        return True

    def pause(self) -> bool:
        """docker pause (the freezer cgroup): every process of the container stops, connections hang."""
        if not self.running() or self.paused():
            return False
        self._container().pause()
        return True

    def resume(self) -> bool:
        if not self.paused():
            return False
        self._container().unpause()
        return True

    def paused(self) -> bool:
        return bool(self._state().get("Paused"))

    def stop(self, timeout: float = 10.0) -> int | None:
        """The stop signal, then SIGKILL after `timeout` (docker stop); unpauses first."""
        if not self._state():
            return None
        if self.paused():
            self._container().unpause()
        if self.running():
            self._container().stop(timeout=int(max(1, timeout)))
        return self.returncode()

    def kill(self) -> int | None:
        if self.running():
            self._container().kill()
        wait_until(lambda: not self.running(), 10)
        return self.returncode()

    def record(self) -> dict:
        return {"name": self.name, "pid": None, "container": self.container_name, "log": str(self.log_path)}

    def log_tail(self, lines: int = 15) -> str:
        return tail(self.log_path, lines)
