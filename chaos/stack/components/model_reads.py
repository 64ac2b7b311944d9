"""Model reloads seen from the database side: every read of LiteLLM's model table, by worker.

Each worker connects with application_name=<worker name> (in its DATABASE_URL) and PostgreSQL
logs every statement with that name (log_line_prefix "%m [%p] %a "), so tailing the log tells
which worker read its model list, and when (PostgreSQL's own timestamp, not when we read it).
The reads become `model_table_read` events: timeline marks, and the `model_query_seen` trigger."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timezone
from pathlib import Path

from chaos.run.events import Event, EventLog

MODEL_TABLE = "LiteLLM_ProxyModelTable"
LOG_LINE_PREFIX = "%m [%p] %a "
# simple protocol: "LOG:  statement: SELECT ..."; extended (Prisma): "LOG:  execute <unnamed>: SELECT ..."
_READ = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC \[\d+\] (?P<app>\S*) ?LOG:  (?:statement|execute [^:]*): SELECT .*"
    + re.escape(MODEL_TABLE)
)


def parse_model_read(line: str) -> tuple[float, str] | None:
    """(wall time, application name) of a model-table read in a PostgreSQL log line, else None."""
    m = _READ.match(line)
    if not m:
        return None
    wall = datetime.strptime(m["ts"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
    return wall, m["app"]


class ModelReadWatcher:
    """Tails the PostgreSQL log in a thread; one event per worker per burst of reads (a reload
    issues several statements within milliseconds)."""

    def __init__(self, log_path: Path, events: EventLog, *, poll_s: float = 0.02, burst_s: float = 1.0):
        self.log_path = log_path
        self.events = events
        self.poll_s = poll_s
        self.burst_s = burst_s
        self._offset = log_path.stat().st_size if log_path.exists() else 0  # schema job and seed reads: not reloads
        self._last_read: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-model-reads", daemon=True)

    def start(self) -> "ModelReadWatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.poll()  # what arrived since the last poll

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.poll()

    def poll(self) -> None:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except OSError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written is read next time
        self._offset += len(complete)
        for raw in complete.splitlines():
            if MODEL_TABLE.encode() not in raw:
                continue
            parsed = parse_model_read(raw.decode(errors="replace"))
            if parsed is None:
                continue
            wall, app = parsed
            if wall - self._last_read.get(app, float("-inf")) >= self.burst_s:
                self.events.record(Event.MODEL_TABLE_READ, wall=wall, worker=app or "?")
            self._last_read[app] = wall
