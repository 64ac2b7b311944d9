"""The fault vocabulary and its validation."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field, fields

from chaos.errors import ChaosError, UsageError
from chaos.host import waiting

_KINDS: dict[str, type["Fault"]] = {}


class FaultError(ChaosError):
    """A fault could not be applied, confirmed or healed (a harness error: the run is aborted)."""

    exit_code = 4


def register(kind: str):
    def wrap(cls):
        cls.kind = kind
        _KINDS[kind] = cls
        return cls

    return wrap


def fault_kinds() -> list[str]:
    return sorted(_KINDS)


@dataclass
class Fault(abc.ABC):
    """A fault on one stack. Subclasses add their parameters as dataclass fields."""

    kind = "abstract"
    stack: object = field(repr=False, compare=False, default=None)

    def spec(self) -> dict:
        """The fault as data, as it appears in a schedule."""
        return {"kind": self.kind} | {f.name: getattr(self, f.name) for f in fields(self) if f.name != "stack"}

    def validate(self) -> None:
        """Raise UsageError naming a bad parameter (unknown worker or link, negative duration)."""

    @abc.abstractmethod
    def apply(self) -> None:
        """Make the fault active and confirm it (raise FaultError when it cannot be confirmed)."""

    def heal(self) -> None:
        """Undo the fault. Idempotent. Instant faults (a kill, terminated backends) heal nothing."""

    @property
    def instant(self) -> bool:
        return type(self).heal is Fault.heal

    def describe(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.spec().items() if k != "kind")
        return f"{self.kind}({params})"


def make_fault(spec: dict, stack) -> Fault:
    if not isinstance(spec, dict) or "kind" not in spec:
        raise UsageError(f"a fault must be an object with a 'kind'; got {spec!r}")
    kind = spec["kind"]
    cls = _KINDS.get(kind)
    if cls is None:
        raise UsageError(f"unknown fault kind {kind!r}; expected one of: {', '.join(fault_kinds())}")
    params = {k: v for k, v in spec.items() if k != "kind"}
    known = {f.name for f in fields(cls)} - {"stack"}
    unknown = set(params) - known
    if unknown:
        raise UsageError(f"fault {kind!r}: unknown parameter(s) {sorted(unknown)}; expected some of {sorted(known)}")
    try:
        fault = cls(stack=stack, **params)
    except TypeError as exc:
        raise UsageError(f"fault {kind!r}: {exc}") from None
    fault.validate()
    return fault


def check_positive(kind: str, name: str, value, allow_zero: bool = False) -> None:
    if not isinstance(value, (int, float)) or value < 0 or (value == 0 and not allow_zero):
        raise UsageError(f"fault {kind!r}: {name}={value!r} must be a {'non-negative' if allow_zero else 'positive'} number")


def wait_until(predicate, timeout: float, what: str, interval: float = 0.02) -> None:
    """Confirmation: block until `predicate()` holds, or raise FaultError naming `what`."""
    waiting.wait_until(predicate, timeout, interval=interval,
                       fail=lambda: FaultError(f"could not confirm {what} within {timeout:.0f} s"))


class StackShape:
    """The names a stack will have (workers, links), to check a schedule before anything starts."""

    def __init__(self, replicas: int):
        from chaos.stack.components.toxiproxy import PG_LINK, worker_link
        from chaos.stack.supervised import worker_name

        self._workers = [worker_name(i) for i in range(1, replicas + 1)]
        self.toxiproxy = type("Links", (), {"links": {worker_link(w): None for w in self._workers} | {PG_LINK: None}})()

    def worker_names(self) -> list[str]:
        return list(self._workers)
