"""The oracle: classify responses, check invariants over history + events, give a verdict."""

from .checkers import CHECKERS, check_all
from .classify import CLASSES, classify
from .context import CheckContext, InvariantResult
from .verdict import Verdict, verdict_of

__all__ = ["CHECKERS", "CLASSES", "CheckContext", "InvariantResult", "Verdict", "check_all", "classify", "verdict_of"]
