"""The verdict of a run: pass, fail (the system under test broke an invariant) or aborted
(harness error, or the stack was not healthy before any fault: "baseline not met")."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..history import Op
from .checkers import FAIL, InvariantResult

PASS, ABORTED = "pass", "aborted"
EXIT_CODES = {PASS: 0, "fail": 1, ABORTED: 4}


@dataclass
class Verdict:
    status: str
    scenario: str
    invariants: list[InvariantResult] = field(default_factory=list)
    reason: str = ""  # why aborted
    counts: dict = field(default_factory=dict)  # worker -> model -> class -> n
    stack: dict = field(default_factory=dict)  # what ran: LiteLLM version, backend, Prisma engine
    seed: int | None = None
    durations: dict = field(default_factory=dict)
    evidence: str = ""
    traffic: dict = field(default_factory=dict)  # the traffic settings (rate, timeouts)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def invariant(self, name: str) -> InvariantResult | None:
        return next((i for i in self.invariants if i.name == name), None)

    @property
    def failed(self) -> list[str]:
        return [i.name for i in self.invariants if i.status == FAIL]

    def first_violation(self) -> tuple[str, dict] | None:
        firsts = [(i.name, i.first_violation) for i in self.invariants if i.first_violation]
        if not firsts:
            return None
        name, v = min(firsts, key=lambda nv: nv[1].first["t"])
        return name, v.to_json()

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "scenario": self.scenario,
            "reason": self.reason,
            "failed_invariants": self.failed,
            "first_violation": self.first_violation(),
            "invariants": [i.to_json() for i in self.invariants],
            "counts": self.counts,
            "stack": self.stack,
            "seed": self.seed,
            "durations": self.durations,
            "traffic": self.traffic,
            "evidence": self.evidence,
        }


def counts_of(ops: list[Op]) -> dict:
    counts: dict = {}
    for op in ops:
        if op.f != "chat":
            continue
        per = counts.setdefault(op.worker, {}).setdefault(op.model, {})
        per[op.cls] = per.get(op.cls, 0) + 1
    return counts


def verdict_of(scenario: str, invariants: list[InvariantResult], ops: list[Op], **extra) -> Verdict:
    status = "fail" if any(i.status == FAIL for i in invariants) else PASS
    return Verdict(status=status, scenario=scenario, invariants=invariants, counts=counts_of(ops), **extra)
