"""Writing into an evidence folder: every copy goes through the run's redactor (no master or salt
key leaves the run directory)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable


def copy_redacted(source: Path, target: Path, redact: Callable[[str], str], *, offset: int = 0) -> None:
    """`source` from byte `offset` on, redacted, into `target` (its folder created)."""
    with open(source, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(redact(text))
