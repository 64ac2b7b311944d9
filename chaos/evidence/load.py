"""Reading an evidence folder back, for the report and the console verdict block.

Tolerant by design: a run that crashed leaves a partial folder, and `chaos report` must still
render what it can. Every missing or unreadable file becomes one line in `problems`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from chaos.errors import UsageError
from chaos.evidence import layout
from chaos.run.events import Event


class EvidenceNotFound(UsageError):
    """The path is not an evidence folder at all."""


@dataclass
class Evidence:
    path: Path
    verdict: dict = field(default_factory=dict)
    ops: list[dict] = field(default_factory=list)  # completed operations (history.jsonl minus invokes)
    events: list[dict] = field(default_factory=list)
    schedule: dict | None = None
    stack: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def scenario(self) -> str:
        return self.verdict.get("scenario") or (self.schedule or {}).get("name") or self.path.parent.name

    @property
    def status(self) -> str:
        return self.verdict.get("status", "unknown")

    @property
    def what_ran(self) -> dict:
        """LiteLLM version, backend and Prisma engine: from the verdict, else stack.json."""
        return self.verdict.get("stack") or self.stack

    def wall_of(self, t: float) -> float | None:
        """The wall-clock time of a monotonic time (events carry both clocks)."""
        anchor = next((e for e in self.events if "wall" in e and "t" in e), None)
        return None if anchor is None else anchor["wall"] + (t - anchor["t"])

    def workers(self) -> list[str]:
        names = {op["worker"] for op in self.ops if str(op.get("worker", "")).startswith("worker-")}
        names |= {e["worker"] for e in self.events if str(e.get("worker", "")).startswith("worker-")}
        return sorted(names, key=_natural)

    def faults_before(self, t: float) -> dict | None:
        """The last fault applied at or before monotonic time t (the step that likely triggered what follows)."""
        applied = [e for e in self.events if e.get("kind") == Event.FAULT_APPLIED and e["t"] <= t]
        return max(applied, key=lambda e: e["t"], default=None)

    def log_path(self, component: str) -> Path:
        return self.path / layout.LOGS / f"{component}.log"


def load_evidence(path: Path) -> Evidence:
    path = Path(path)
    if not path.is_dir():
        raise EvidenceNotFound(f"{path}: no such evidence folder; expected a directory such as chaos-results/S1/latest")
    present = [name for name in layout.REQUIRED if (path / name).is_file()]
    if not present:
        raise EvidenceNotFound(f"{path}: not an evidence folder (none of {', '.join(layout.REQUIRED)} is there)")
    ev = Evidence(path=_stable(path))
    ev.verdict = _json_object(path / layout.VERDICT, ev.problems) or {}
    ev.schedule = _json_object(path / layout.SCHEDULE, ev.problems)
    ev.stack = _json_object(path / layout.STACK, ev.problems) or {}
    ev.events = [e for e in _jsonl(path / layout.EVENTS, ev.problems) if _has(e, "t", "kind")]
    ev.events.sort(key=lambda e: e["t"])
    ev.ops = [op for op in _jsonl(path / layout.HISTORY, ev.problems, skip_invokes=True) if _has(op, "t", "t0", "f", "worker")]
    ev.ops.sort(key=lambda op: op["t0"])
    if not (path / layout.LOGS).is_dir():
        ev.problems.append("logs/: missing (no component logs to show)")
    return ev


def _stable(path: Path) -> Path:
    """The folder itself, not the `latest` link that will point elsewhere after the next run."""
    real = path.resolve()
    try:
        return real.relative_to(Path.cwd())
    except ValueError:
        return real


def _has(record, *keys) -> bool:
    return isinstance(record, dict) and all(k in record for k in keys)


def _json_object(path: Path, problems: list[str]) -> dict | None:
    if not path.is_file():
        problems.append(f"{path.name}: missing")
        return None
    try:
        data = json.loads(path.read_text(errors="replace"))
    except ValueError as exc:
        problems.append(f"{path.name}: not valid JSON ({exc})")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path.name}: expected a JSON object, found {type(data).__name__}")
        return None
    return data


def _jsonl(path: Path, problems: list[str], skip_invokes: bool = False) -> list:
    if not path.is_file():
        problems.append(f"{path.name}: missing")
        return []
    records, bad, first_bad = [], 0, None
    with open(path, errors="replace") as f:
        for n, line in enumerate(f, 1):
            if skip_invokes and '"type": "invoke"' in line:
                continue  # completions carry their invoke time
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                bad += 1
                first_bad = first_bad or n
    if bad:
        problems.append(f"{path.name}: {bad} unreadable line(s), the first at line {first_bad} (skipped)")
    return records


def _natural(name: str):
    head, _, num = name.rpartition("-")
    return (head, int(num)) if num.isdigit() else (name, 0)
