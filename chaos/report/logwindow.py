"""The lines of a worker's log around a moment: what the offending worker said when it first
broke the invariant. LiteLLM stamps its own lines with HH:MM:SS (UTC here); lines without a stamp
(tracebacks, uvicorn) inherit the last one seen."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_STAMP = re.compile(r"\b(\d\d):(\d\d):(\d\d)\b")


@dataclass
class LogWindow:
    path: Path
    first_line: int  # 1-based number of lines[0]
    lines: list[str]
    hit: int | None  # index in lines of the matching line, None when only the time matched

    def numbered(self) -> list[tuple[int, str, bool]]:
        return [(self.first_line + i, line, i == self.hit) for i, line in enumerate(self.lines)]


def log_window(path: Path, wall: float | None, needle: str | None, context: int = 12) -> LogWindow | None:
    """The first line at or after `wall` (to the second) that contains `needle`, with `context`
    lines either side; without a match, the first line at or after `wall`."""
    try:
        lines = [_ANSI.sub("", ln) for ln in path.read_text(errors="replace").splitlines()]
    except OSError:
        return None
    if not lines:
        return None
    target = _seconds_of_day(wall) if wall is not None else None
    stamp, at_or_after = None, []
    for i, line in enumerate(lines):
        m = _STAMP.search(line[:40])
        if m:
            stamp = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])
        if target is None or (stamp is not None and stamp >= target):
            at_or_after.append(i)
    hit = next((i for i in at_or_after if needle and needle in lines[i]), None)
    centre = hit if hit is not None else (at_or_after[0] if at_or_after else len(lines) - 1)
    lo, hi = max(0, centre - context), min(len(lines), centre + context + 1)
    return LogWindow(path, lo + 1, lines[lo:hi], None if hit is None else hit - lo)


def _seconds_of_day(wall: float) -> int:
    t = time.gmtime(int(wall) - 1)  # one second of slack: the log stamp may be truncated, not rounded
    return t.tm_hour * 3600 + t.tm_min * 60 + t.tm_sec
