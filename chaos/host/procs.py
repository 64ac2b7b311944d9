"""Child processes of a run: each in its own process group, logging to its own file, and
tagged with the run id in its environment so a sweep can find it (and its children) later."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from chaos.host.waiting import wait_until

RUN_ID_ENV = "CHAOS_RUN_ID"


def proc_start_ticks(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot; None if there is no such process.
    A (pid, start time) pair names one process for good: pids are reused, start times are not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name is in parentheses and may contain spaces: split after the last ')'
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie (e.g. a killed harness nobody reaped) is gone for our purposes
        return None
    return int(fields[19])


def is_same_process(pid: int, start_ticks: int | None) -> bool:
    return start_ticks is not None and proc_start_ticks(pid) == start_ticks


def pids_of_run(run_id: str) -> list[int]:
    """Every live process whose environment carries this run's id (children included)."""
    needle = f"{RUN_ID_ENV}={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def kill_pids(pids: list[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until none of `pids` is alive (zombies count as gone); return those still alive."""
    wait_until(lambda: not any(_alive(p) for p in pids), timeout)
    return [p for p in pids if _alive(p)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    kept = [ln for ln in text.splitlines() if ln.strip()][-lines:]
    return "\n".join(kept) if kept else "(log is empty)"


class ManagedProcess:
    """One component process. Not restarted by itself: see stack.restarts for that."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        *,
        env: dict[str, str],
        run_id: str,
        user: str | None = None,
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
    ):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env | {RUN_ID_ENV: run_id}
        self.user = user
        self.cwd = cwd
        self.stop_signal = stop_signal
        self.popen: subprocess.Popen | None = None
        self.start_ticks: int | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- chaos: starting {self.name}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                user=self.user,
                start_new_session=True,  # own process group: signals reach its children too
            )
        self.start_ticks = proc_start_ticks(self.popen.pid)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def returncode(self) -> int | None:
        return self.popen.poll() if self.popen else None

    def send(self, sig: int) -> bool:
        """Signal the whole process group (the LiteLLM worker and its Prisma engine alike)."""
        return self.running() and signal_group(self.popen.pid, sig)

    def pause(self) -> bool:
        """SIGSTOP to the process group: it stops, its connections hang."""
        return self.send(signal.SIGSTOP)

    def resume(self) -> bool:
        return self.send(signal.SIGCONT)

    def paused(self) -> bool:
        """The group leader is stopped (state T)."""
        try:
            return self.running() and Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> int | None:
        """The stop signal (after SIGCONT, in case it is paused), then SIGKILL after `timeout`."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            signal_group(self.popen.pid, signal.SIGCONT)
            signal_group(self.popen.pid, self.stop_signal)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        return self.kill()

    def kill(self) -> int | None:
        """SIGKILL the process group and reap the leader."""
        if self.popen is None:
            return None
        signal_group(self.popen.pid, signal.SIGKILL)  # also children left behind by a graceful exit
        try:
            return self.popen.wait(10)
        except subprocess.TimeoutExpired:
            return None

    def record(self) -> dict:
        return {"name": self.name, "pid": self.pid, "start_ticks": self.start_ticks, "log": str(self.log_path)}

    def log_tail(self, lines: int = 15) -> str:
        return tail(self.log_path, lines)
