"""Which models are valid when, read from the history: the bookkeeping every checker shares.

A seeded model is valid from the start; a created one from its /model/new's 200. A deleted one
stops being valid at its /model/delete's invoke: an answer that overlaps the delete may go
either way (both orders are possible), so it is judged neither as a violation nor as served; from
the delete's 200 on, every worker must stop serving it within the propagation bound. A create,
delete or update whose answer was not 200 (error, timeout) may or may not have happened: the
model is not judged from its invoke on."""

from __future__ import annotations

from dataclasses import dataclass, field

from chaos.oracle.classify import OK
from chaos.run.history import Op

CHANGES = ("model_new", "model_delete", "model_update")


@dataclass
class ModelLedger:
    valid_from: dict[str, float] = field(default_factory=dict)
    deletes: dict[str, Op] = field(default_factory=dict)  # model -> its delete that returned 200
    unknown_from: dict[str, float] = field(default_factory=dict)  # a change of unknown outcome, from its invoke
    updates: dict[str, list[Op]] = field(default_factory=dict)  # model -> its updates that returned 200, in order
    creates: list[Op] = field(default_factory=list)  # creates that returned 200

    @classmethod
    def of(cls, ops: list[Op], seeded: list[str]) -> "ModelLedger":
        ledger = cls(valid_from={m: float("-inf") for m in seeded})
        for op in sorted((o for o in ops if o.f in CHANGES), key=lambda o: o.t0):
            if op.cls != OK:
                ledger.unknown_from.setdefault(op.model, op.t0)
            elif op.f == "model_new" and op.model not in ledger.valid_from:
                ledger.valid_from[op.model] = op.t
                ledger.creates.append(op)
            elif op.f == "model_delete":
                ledger.deletes.setdefault(op.model, op)
            elif op.f == "model_update":
                ledger.updates.setdefault(op.model, []).append(op)
        return ledger

    def valid(self, model: str | None, t0: float, t: float) -> bool:
        """Was `model` valid for the whole of [t0, t] (an operation invoked at t0, answered at t)?"""
        if model not in self.valid_from or t0 < self.valid_from[model]:
            return False
        deleted = self.deletes.get(model)
        if deleted is not None and t >= deleted.t0:
            return False
        return t < self.unknown_from.get(model, float("inf"))

    def expected(self, t0: float, t: float) -> set[str]:
        """The models valid for the whole of [t0, t]: what a listing answered then must show."""
        return {m for m in self.valid_from if self.valid(m, t0, t)}

    def valid_throughout(self, t0: float, t1: float) -> list[str]:
        return [m for m in self.valid_from if self.valid(m, t0, t1)]
