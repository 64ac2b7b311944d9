"""The oracle: classify responses, check invariants over history + events, give a verdict."""

from .checkers import CheckContext, InvariantResult, check_all
from .classify import CLASSES, classify
from .verdict import Verdict, verdict_of

__all__ = ["CLASSES", "CheckContext", "InvariantResult", "Verdict", "check_all", "classify", "verdict_of"]
