"""Exception classes. Every message is one line that says what is wrong and what to do."""


class ChaosError(Exception):
    """Base class of every error the harness raises on purpose (the CLI prints it as one line)."""

    exit_code = 2


class UsageError(ChaosError):
    """Bad input from the user: a value out of range, an unknown name, a refused version."""

    exit_code = 2


class PrerequisiteMissing(ChaosError):
    """A binary or package the stack needs is not installed; the message says how to install it."""

    exit_code = 3


class PortInUse(UsageError):
    """A port the user asked for is already taken on 127.0.0.1."""


class EnvironmentBuildError(ChaosError):
    """Building the virtualenv of a LiteLLM version failed."""

    exit_code = 4


class StackStartError(ChaosError):
    """A component did not start; the message names it and quotes the tail of its log."""

    exit_code = 4


class WorkerNotReady(StackStartError):
    """A LiteLLM worker did not answer readiness 200 in time."""


class RunNotFound(UsageError):
    """`chaos down/status` named a run that the registry does not know."""


class SteadyStateDeviated(StackStartError):
    """The gateway broke its steady state before any fault (e.g. 'Invalid model name' for a seeded
    model at start): the system under test failed, not the harness (Chaos Toolkit's "deviated")."""

    exit_code = 1
