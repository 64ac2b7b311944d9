"""Runs left behind by a harness that is gone are swept by the next chaos command (one line each);
kept stacks and live runs are not touched. No real stack: a tagged process stands for the run."""

import os
import subprocess
import sys
import time

from chaos.host import registry
from chaos.host.procs import RUN_ID_ENV, pids_of_run, proc_start_ticks

from .helpers import run_cli


def _fake_run(run_id: str, harness_pid: int | None, harness_ticks: int | None) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=os.environ | {RUN_ID_ENV: run_id},
                            start_new_session=True)
    with registry.locked():
        registry.write({"run_id": run_id, "status": "ready", "harness_pid": harness_pid, "harness_start_ticks": harness_ticks,
                        "processes": [{"name": "stand-in", "pid": proc.pid, "start_ticks": proc_start_ticks(proc.pid)}]})
    return proc


def test_the_next_command_sweeps_a_run_whose_harness_is_gone_and_keeps_the_others():
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = _fake_run("20990101-000000-orphan", gone.pid, 1)
    kept = _fake_run("20990101-000000-kept00", None, None)  # kept for inspection: no harness owns it
    live = _fake_run("20990101-000000-live00", os.getpid(), proc_start_ticks(os.getpid()))
    try:
        out = run_cli("status")
        lines = [ln for ln in out.stderr.splitlines() if "removed run" in ln]
        assert lines == [f"chaos: removed run 20990101-000000-orphan, left behind by a harness that is gone (pid {gone.pid}): "
                         + lines[0].split(f"(pid {gone.pid}): ")[1]], out.stderr
        orphan.wait(10)
        assert registry.read("20990101-000000-orphan") is None and pids_of_run("20990101-000000-orphan") == []
        assert kept.poll() is None and live.poll() is None
        assert registry.read("20990101-000000-kept00") and registry.read("20990101-000000-live00")
    finally:
        for proc, run_id in ((orphan, "20990101-000000-orphan"), (kept, "20990101-000000-kept00"), (live, "20990101-000000-live00")):
            proc.kill()
            proc.wait()
            registry.remove(run_id)


def test_the_watchdog_tears_a_run_down_when_its_harness_dies():
    from chaos.host import watchdog

    harness = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    run = _fake_run("20990101-000000-watch0", harness.pid, proc_start_ticks(harness.pid))
    dog = subprocess.Popen([sys.executable, "-m", "chaos.host.watchdog", "20990101-000000-watch0", str(harness.pid),
                            str(proc_start_ticks(harness.pid))], env={k: v for k, v in os.environ.items() if k != RUN_ID_ENV})
    try:
        time.sleep(1.5)
        assert run.poll() is None and dog.poll() is None, "a live harness keeps its run"
        harness.kill()
        harness.wait()
        t = time.monotonic()
        dog.wait(10)
        run.wait(5)
        assert time.monotonic() - t < watchdog.POLL_S + 3
        assert registry.read("20990101-000000-watch0") is None
    finally:
        for p in (harness, run, dog):
            p.kill()
            p.wait()
        registry.remove("20990101-000000-watch0")
