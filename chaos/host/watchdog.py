"""A run's reaper, as testcontainers' Ryuk is for containers: a small process started with the
run, in a session of its own (a signal to the harness's process group does not reach it), that
tears the run down as soon as the harness that owns it is gone (SIGKILL, OOM, a closed terminal).
Nothing of a run outlives its harness by more than a poll.

It ends by itself when the run's registry entry goes (a normal teardown) or when the stack is kept
for inspection (no harness owns it then: `chaos down RUN_ID` is the user's). It does not carry the
run's id in its environment, so the teardown it runs does not kill it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from chaos.host import registry
from chaos.host.paths import SOURCE_ROOT
from chaos.host.procs import RUN_ID_ENV, is_same_process, proc_start_ticks

POLL_S = 0.5


def start(run_id: str) -> subprocess.Popen:
    """The watchdog of `run_id`, owned by this process (the harness)."""
    env = {k: v for k, v in os.environ.items() if k != RUN_ID_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_ROOT), env.get("PYTHONPATH")]))
    pid = os.getpid()
    return subprocess.Popen([sys.executable, "-m", "chaos.host.watchdog", run_id, str(pid), str(proc_start_ticks(pid))],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, start_new_session=True)


def watch(run_id: str, harness_pid: int, harness_ticks: int) -> None:
    from chaos.host.teardown import down

    while True:
        entry = registry.read(run_id)
        if entry is None or entry.get("harness_pid") is None:  # torn down, or kept for inspection
            return
        if not is_same_process(harness_pid, harness_ticks):
            down(entry, grace=0)
            return
        time.sleep(POLL_S)


if __name__ == "__main__":
    watch(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
