"""The verdict of a run, one of:
- pass: every contract invariant held, and the run saw enough of each to say so;
- fail: the system under test broke a contract invariant, or deviated from its steady state
  before any fault (Chaos Toolkit's "deviated": the gateway's fault, with the evidence);
- inconclusive: nothing failed, but a contract invariant is unknown: blind for too much of its
  window (oracle.coverage), or only timeouts where it needed a definite answer;
- aborted: what the harness itself could not do (a harness error, a checker that raised, a
  baseline it could not observe);
- not_applicable: the scenario's premise is missing from the stack asked for (e.g. a restart
  scenario without a single model in the DB): nothing ran, and the reason says which flag gives it.
Advisory invariants are reported, never decide."""

from __future__ import annotations

from dataclasses import dataclass, field

from chaos.oracle.context import ADVISORY, CONTRACT, FAIL, UNKNOWN, InvariantResult
from chaos.run.history import Op

PASS, FAILED, INCONCLUSIVE, ABORTED, NOT_APPLICABLE = "pass", "fail", "inconclusive", "aborted", "not_applicable"
EXIT_CODES = {PASS: 0, FAILED: 1, ABORTED: 4, INCONCLUSIVE: 5, NOT_APPLICABLE: 6}
# the exit code of several runs: the worst verdict's (aborted over fail over inconclusive over not applicable over pass)
SEVERITY = {PASS: 0, NOT_APPLICABLE: 1, INCONCLUSIVE: 2, FAILED: 3, ABORTED: 4}


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
    machine: dict = field(default_factory=dict)  # cores, CPU pressure avg/max, the load budget and the rates it chose
    # per DB fault that watches for it: which workers were seen trying the DB while it was active
    fault_reach: list = field(default_factory=list)

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
            "machine": self.machine,
            "fault_reach": self.fault_reach,
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
    raised = [i for i in contract if i.status == UNKNOWN and i.error]
    unseen = [i for i in contract if i.status == UNKNOWN and not i.error]
    if any(i.status == FAIL for i in contract):
        status, reason = FAILED, ""
    elif raised:
        status = ABORTED
        reason = "checker error: " + "; ".join(f"{i.name}: {i.error}" for i in raised)
    elif unseen:
        status = INCONCLUSIVE
        reason = "not enough seen to judge: " + "; ".join(f"{i.name}: {i.note}" for i in unseen)
    else:
        status, reason = PASS, ""
    return Verdict(status=status, scenario=scenario, invariants=invariants, reason=reason, counts=counts_of(ops), **extra)
