"""The live progress line of a run on a terminal: phase, elapsed time, requests sent and the
"Invalid model name" answers so far per worker. Off when stdout is not a terminal, so CI logs
hold only the log lines and the verdict block."""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, TextIO

CLEAR_LINE = "\r\x1b[K"


class Progress:
    def __init__(self, name: str, stream: TextIO | None = None, interval_s: float = 0.5):
        self.name = name
        self.stream = stream  # None: disabled
        self.interval_s = interval_s
        self.phase = "starting"
        self._t0 = time.monotonic()
        self._sources: tuple[Callable[[], int], Callable[[], dict]] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_terminal(cls, name: str) -> "Progress":
        return cls(name, sys.stdout if sys.stdout.isatty() else None)

    @property
    def enabled(self) -> bool:
        return self.stream is not None

    def set_phase(self, phase: str) -> None:
        self.phase = phase

    def watch(self, sent: Callable[[], int], invalid_by_worker: Callable[[], dict]) -> None:
        """Where the counts come from (the traffic engine and the history), once traffic runs."""
        self._sources = (sent, invalid_by_worker)

    def line(self) -> str:
        elapsed = int(time.monotonic() - self._t0)
        text = f"[{self.name}] {self.phase:<10} {elapsed // 60:02d}:{elapsed % 60:02d}"
        if self._sources:
            sent, invalid = self._sources[0](), dict(self._sources[1]())
            per_worker = " ".join(f"{w}={n}" for w, n in sorted(invalid.items())) or "none"
            text += f"  sent {sent}  invalid_model: {per_worker}"
        return text

    def log(self, message: str) -> None:
        """A log line (stderr) that does not collide with the progress line."""
        with self._lock:
            if self.enabled:
                self.stream.write(CLEAR_LINE)
                self.stream.flush()
            print(message, file=sys.stderr, flush=True)
            self._draw()

    def _draw(self) -> None:
        if self.enabled:
            self.stream.write(CLEAR_LINE + self.line())
            self.stream.flush()

    def __enter__(self) -> "Progress":
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="chaos-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        if self.enabled:
            with self._lock:
                self.stream.write(CLEAR_LINE)
                self.stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                self._draw()
