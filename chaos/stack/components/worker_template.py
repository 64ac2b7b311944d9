"""Fast worker starts (the local backend's default; `--cold-start` turns them off): one template
process per stack imports LiteLLM once (template_server.py, run by the LiteLLM environment's
python), and every worker start or restart is a fork of it. A LiteLLM start is mostly that
import (17 s of 23-32 s on the reference machine, benchmarks/worker_start_phases.py);
everything after it, the startup the incident is about (Prisma checks, engine spawn and connect,
settings and first model load from the DB, the reload job), still runs in the new process.

A forked worker is a ManagedProcess whose `popen` is a ForkedChild: the same pid, process group,
signals, stop and kill as a cold one; its exit code comes from the file the template writes when
it reaps it."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from chaos.errors import StackStartError
from chaos.host.procs import ManagedProcess, proc_start_ticks
from chaos.host.waiting import wait_until

TEMPLATE_SCRIPT = Path(__file__).with_name("template_server.py")
IMPORT_TIMEOUT_S = 180.0  # a cold import under load takes tens of seconds; a broken one ends sooner
NO_TEMPLATE_CODE = -1  # a worker whose template died before reaping it: it exited, code unknown


def template_process(python: Path, run_dir: Path, log_dir: Path, env: dict[str, str], run_id: str) -> ManagedProcess:
    """The template of a stack's workers (not started), with the environment every worker shares."""
    sock = run_dir / "template.sock"
    return ManagedProcess("litellm-template", [str(python), str(TEMPLATE_SCRIPT), str(sock)], log_dir / "litellm-template.log",
                          env=env, run_id=run_id, cwd=run_dir)


def wait_template(template: ManagedProcess, timeout: float = IMPORT_TIMEOUT_S) -> None:
    """Until the template has imported LiteLLM and listens; its log tail if it dies first."""
    sock = Path(template.argv[-1])

    def dead() -> StackStartError:
        return StackStartError(f"the LiteLLM start template did not come up within {timeout:.0f} s (rc "
                               f"{template.returncode()}); log tail ({template.log_path}):\n{template.log_tail(15)}")

    wait_until(sock.exists, timeout, interval=0.2, give_up=lambda: not template.running(), fail=dead)


class ForkedChild:
    """What ManagedProcess needs of a Popen (pid, poll, wait) for a worker forked by the template."""

    def __init__(self, pid: int, exit_file: Path, template: ManagedProcess):
        self.pid = pid
        self.exit_file = exit_file
        self.template = template
        self.start_ticks = proc_start_ticks(pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            if self.exit_file.exists():
                self.returncode = int(self.exit_file.read_text())
            elif proc_start_ticks(self.pid) != self.start_ticks and not self.template.running():
                self.returncode = NO_TEMPLATE_CODE  # gone, and nobody left to say how
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if wait_until(lambda: self.poll() is not None, timeout if timeout is not None else 1e9) is None:
            raise subprocess.TimeoutExpired(f"forked worker {self.pid}", timeout)
        return self.returncode


class ForkedProcess(ManagedProcess):
    """A worker started by forking the template instead of a new interpreter."""

    def __init__(self, *args, template: ManagedProcess, cgroup_procs: Path | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        self.cgroup_procs = cgroup_procs
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        exit_file = self.template.cwd / f"{self.name}.exit-{self.starts}"  # the run dir: not evidence
        exit_file.unlink(missing_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- chaos: starting {self.name} (forked from the template): {' '.join(self.argv)}\n".encode())
        request = {"argv": self.argv, "env": self.env, "log": str(self.log_path), "exit_file": str(exit_file),
                   "cwd": str(self.cwd or Path.cwd()), "cgroup_procs": str(self.cgroup_procs) if self.cgroup_procs else None}
        answer = _ask(Path(self.template.argv[-1]), request)
        if "pid" not in answer:
            raise StackStartError(f"{self.name}: the LiteLLM start template could not fork it: {answer.get('error')}; "
                                  f"log tail ({self.template.log_path}):\n{self.template.log_tail(10)}")
        self.popen = ForkedChild(answer["pid"], exit_file, self.template)
        self.start_ticks = self.popen.start_ticks


def _ask(sock_path: Path, request: dict, timeout: float = 30.0) -> dict:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(sock_path))
            s.sendall((json.dumps(request) + "\n").encode())
            line = s.makefile("rb").readline()
    except OSError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return json.loads(line) if line else {"error": "no answer"}
