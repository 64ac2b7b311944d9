"""The run registry: one small JSON file per live run (pids, ports, dirs), so that `chaos down`
and `chaos down --all` can tear down runs whose harness died. Files are 0600: they hold the
run's master key, which `chaos status` shows to the user who started the run."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from pathlib import Path

from chaos.host.paths import registry_dir, state_dir

_THREAD_LOCK = threading.RLock()
_depth = 0


@contextlib.contextmanager
def locked():
    """Serialises port reservation and registry writes across harness processes (flock) and
    threads (RLock). Re-entrant: flock on a second descriptor would deadlock on the first."""
    global _depth
    with _THREAD_LOCK:
        if _depth:
            _depth += 1
            try:
                yield
            finally:
                _depth -= 1
            return
        state_dir().mkdir(parents=True, exist_ok=True)
        with open(state_dir() / "registry.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            _depth = 1
            try:
                yield
            finally:
                _depth = 0


def path_of(run_id: str) -> Path:
    return registry_dir() / f"{run_id}.json"


def write(entry: dict) -> None:
    registry_dir().mkdir(parents=True, exist_ok=True)
    target = path_of(entry["run_id"])
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(entry, f, indent=2)
    os.replace(tmp, target)


def read(run_id: str) -> dict | None:
    try:
        return json.loads(path_of(run_id).read_text())
    except (OSError, ValueError):
        return None


def remove(run_id: str) -> None:
    path_of(run_id).unlink(missing_ok=True)


def all_entries() -> list[dict]:
    if not registry_dir().exists():
        return []
    entries = []
    for path in sorted(registry_dir().glob("*.json")):
        try:
            entries.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            entries.append({"run_id": path.stem, "corrupt": True})
    return entries


def reserved_ports(excluding_run: str | None = None) -> set[int]:
    ports: set[int] = set()
    for entry in all_entries():
        if entry.get("run_id") != excluding_run:
            ports.update(entry.get("ports", {}).values())
    return ports
