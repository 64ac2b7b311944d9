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
# a line that continues the record above it: a traceback's frames and source lines, its header,
# the exception it ends with, the chained-exception notes
_CONTINUATION = re.compile(r"^(\s|Traceback \(most recent|During handling of|The above exception|"
                           r"[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b)")
MAX_RECORD_LINES = 60  # a record longer than this is cut off rather than shown whole


@dataclass
class LogWindow:
    path: Path
    first_line: int  # 1-based number of lines[0]
    lines: list[str]
    hit: int | None  # index in lines of the matching line, None when only the time matched

    def numbered(self) -> list[tuple[int, str, bool]]:
        return [(self.first_line + i, line, i == self.hit) for i, line in enumerate(self.lines)]


def log_window(path: Path, wall: float | None, needle: str | None, context: int = 12,
               whole_records: bool = False) -> LogWindow | None:
    """The first line at or after `wall` (to the second) that contains `needle`, with `context`
    lines either side; without a match, the first line at or after `wall`. whole_records: the
    window starts and ends on record boundaries (a traceback whole, or not at all)."""
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
    if whole_records:
        lo, hi = _record_bounds(lines, lo, hi, centre)
    return LogWindow(path, lo + 1, lines[lo:hi], None if hit is None else hit - lo)


def _record_bounds(lines: list[str], lo: int, hi: int, centre: int) -> tuple[int, int]:
    """[lo, hi) moved onto record boundaries: lo back to the start of the record it cuts (or, for a
    record too long to show, forward past it); hi on until the record it cuts ends (or back)."""
    def starts(i: int) -> bool:
        if not lines[i].strip():  # a blank line inside a chained traceback continues it
            return not (i + 1 < len(lines) and _CONTINUATION.match(lines[i + 1]))
        return not _CONTINUATION.match(lines[i])

    start = lo
    while start > 0 and not starts(start) and centre - start < MAX_RECORD_LINES:
        start -= 1
    if starts(start):
        lo = start
    else:
        while lo < centre and not starts(lo):
            lo += 1
    end = hi
    while end < len(lines) and not starts(end) and end - hi < MAX_RECORD_LINES:
        end += 1
    if end < len(lines) and not starts(end):  # the last record is too long to show whole: leave it out
        end = max((i for i in range(lo, hi) if starts(i)), default=hi)
    return lo, max(end, centre + 1)


def _seconds_of_day(wall: float) -> int:
    t = time.gmtime(int(wall) - 1)  # one second of slack: the log stamp may be truncated, not rounded
    return t.tm_hour * 3600 + t.tm_min * 60 + t.tm_sec
