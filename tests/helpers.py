"""Shared helpers of the harness's own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chaos.host import registry
from chaos.host.paths import runs_dir
from chaos.host.ports import is_free
from chaos.host.procs import pids_of_run

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chaos.cli", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, stdin=subprocess.DEVNULL,
        env=os.environ | (env or {}),
    )


def status(run_id: str) -> dict:
    out = run_cli("status", run_id, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def leftovers(run_id: str, ports: list[int]) -> list[str]:
    """What a run left behind: processes tagged with its id, listening ports, its dir, its entry."""
    found = [f"process {pid}" for pid in pids_of_run(run_id)]
    found += [f"port {p}" for p in ports if not is_free(p)]
    if (runs_dir() / run_id).exists():
        found.append(f"run dir {runs_dir() / run_id}")
    if registry.read(run_id) is not None:
        found.append("registry entry")
    return found


def snapshot() -> set[str]:
    """Run dirs and registry entries present now (to prove a failed command added none)."""
    dirs = {p.name for p in runs_dir().iterdir()} if runs_dir().exists() else set()
    return dirs | {e["run_id"] for e in registry.all_entries()}
