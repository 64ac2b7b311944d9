"""The verdict of a run: pass, fail (the system under test broke a contract invariant) or aborted
(harness error, a checker that raised on a contract invariant, or the stack was not healthy
before any fault: "baseline not met"). Advisory invariants are reported, never decide."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..history import Op
from .context import ADVISORY, CONTRACT, FAIL, UNKNOWN, InvariantResult

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
    traffic: dict = field(default_factory=dict)  # the traffic settings (rate, timeouts) and the probe rates achieved

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def invariant(self, name: str) -> InvariantResult | None:
        return next((i for i in self.invariants if i.name == name), None)

    @property
    def failed(self) -> list[str]:
        """Contract invariants that failed: why the verdict is fail."""
        return [i.name for i in self.invariants if i.status == FAIL and i.role == CONTRACT]

    @property
    def advisory_failed(self) -> list[str]:
        return [i.name for i in self.invariants if i.status == FAIL and i.role == ADVISORY]

    def first_violation(self) -> tuple[str, dict] | None:
        """The earliest violation of a contract invariant (of an advisory one when none failed)."""
        for roles in ((CONTRACT,), (CONTRACT, ADVISORY)):
            firsts = [(i.name, i.first_violation) for i in self.invariants if i.first_violation and i.role in roles]
            if firsts:
                name, v = min(firsts, key=lambda nv: nv[1].first["t"])
                return name, v.to_json()
        return None

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "scenario": self.scenario,
            "reason": self.reason,
            "failed_invariants": self.failed,
            "advisory_failed": self.advisory_failed,
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
    """worker (or front-door) -> model -> outcome class -> chat probes."""
    counts: dict = {}
    for op in ops:
        if op.f != "chat":
            continue
        per = counts.setdefault(op.worker, {}).setdefault(op.model, {})
        per[op.cls] = per.get(op.cls, 0) + 1
    return counts


def verdict_of(scenario: str, invariants: list[InvariantResult], ops: list[Op], **extra) -> Verdict:
    contract = [i for i in invariants if i.role == CONTRACT]
    unknown = [i for i in contract if i.status == UNKNOWN]
    if any(i.status == FAIL for i in contract):
        status, reason = "fail", ""
    elif unknown:
        status = ABORTED
        reason = "checker error: " + "; ".join(f"{i.name}: {i.error}" for i in unknown)
    else:
        status, reason = PASS, ""
    return Verdict(status=status, scenario=scenario, invariants=invariants, reason=reason, counts=counts_of(ops), **extra)
