"""The operation history: what the clients did and what came back, Jepsen style.

Each operation is written twice as JSONL: an `invoke` record when it starts and a completion when
it ends, `ok`, `fail` (a definite failure) or `info` (unknown outcome: timeout, reset). In memory
only completions are kept (they carry the invoke time `t0`), which is all the checkers need.
Times are time.monotonic(), the clock of the event log too."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Op:
    id: int
    type: str  # ok | fail | info
    f: str  # chat | readiness | models | model_info_list | model_new | model_info | model_delete | model_update
    worker: str
    t0: float  # invoke
    t: float  # completion
    model: str | None = None
    status: int | None = None  # HTTP status, None when no response
    cls: str = ""  # outcome class (oracle.classify)
    error: str | None = None  # exception class for transport errors
    detail: str | None = None  # short body excerpt for failures
    value: object = None  # what a read returned (model_info: found; models: the names) or a write wrote
    via: str | None = None  # "front_door" when sent through the readiness-gated load balancer
    served_by: str | None = None  # through the front door: the worker that answered

    @property
    def latency_ms(self) -> float:
        return round((self.t - self.t0) * 1000, 2)

    def to_json(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if v is not None}
        d["latency_ms"] = self.latency_ms
        return d


class History:
    def __init__(self, path: Path | None = None):
        self.ops: list[Op] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._file = open(path, "a") if path else None
        self.invalid_model_by_worker: dict[str, int] = {}  # live counts for the progress line

    def next_id(self) -> int:
        return next(self._ids)

    def invoke(self, op_id: int, f: str, worker: str, t0: float, model: str | None = None) -> None:
        if self._file:
            rec = {"id": op_id, "type": "invoke", "f": f, "worker": worker, "t": t0}
            if model is not None:
                rec["model"] = model
            self._write(rec)

    def complete(self, op: Op) -> Op:
        with self._lock:
            self.ops.append(op)
            if op.cls == "invalid_model":
                self.invalid_model_by_worker[op.worker] = self.invalid_model_by_worker.get(op.worker, 0) + 1
        if self._file:
            self._write(op.to_json())
        return op

    def _write(self, rec: dict) -> None:
        with self._lock:
            self._file.write(json.dumps(rec) + "\n")

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None

