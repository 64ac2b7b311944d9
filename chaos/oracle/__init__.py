"""The oracle: classify responses, check invariants over history + events, give a verdict."""

from chaos.oracle.classify import CLASSES, classify
from chaos.oracle.context import CheckContext, InvariantResult
from chaos.oracle.invariants import CHECKERS, INVARIANTS, check_all
from chaos.oracle.verdict import Verdict, verdict_of

__all__ = ["CHECKERS", "CLASSES", "INVARIANTS", "CheckContext", "InvariantResult", "Verdict", "check_all", "classify", "verdict_of"]
