"""Faults: each is plain data (a dict with a `kind`), applied against a stack, confirmed active
before the schedule moves on, and healed in a `finally` by whoever applied it.

    fault = make_fault({"kind": "link_down", "link": "worker-1"}, stack)
    fault.apply(); ...; fault.heal()
"""

from chaos.faults.base import Fault, FaultError, StackShape, fault_kinds, make_fault

__all__ = ["Fault", "FaultError", "StackShape", "fault_kinds", "make_fault"]

from chaos.faults import database, network, workers  # noqa: E402,F401  (register the fault kinds)
