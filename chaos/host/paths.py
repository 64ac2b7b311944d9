"""Where the harness keeps its caches, run directories and the run registry."""

import os
import tempfile
from pathlib import Path

# the directory that holds the chaos package: a checkout's root (compose/, scenarios/), or site-packages
SOURCE_ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """Long-lived caches (LiteLLM virtualenvs, the Toxiproxy binary): survive runs."""
    base = os.environ.get("CHAOS_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "litellm-chaos"


def state_dir() -> Path:
    """Short-lived run state. Under the temp dir so a PostgreSQL run as another user can reach it."""
    base = os.environ.get("CHAOS_STATE_DIR")
    return Path(base) if base else Path(tempfile.gettempdir()) / f"litellm-chaos-{os.getuid()}"


def runs_dir() -> Path:
    return state_dir() / "runs"


def registry_dir() -> Path:
    return state_dir() / "registry"
