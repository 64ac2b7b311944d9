"""litellm-chaos: fault-injection chaos tests for the LiteLLM proxy in database mode."""

from .errors import ChaosError, PrerequisiteMissing, StackStartError, UsageError, WorkerNotReady
from .stack import LocalStack, RestartPolicy, Stack, StackConfig, open_stack

__version__ = "0.1.0"
__all__ = [
    "ChaosError", "LocalStack", "PrerequisiteMissing", "RestartPolicy", "Stack", "StackConfig",
    "StackStartError", "UsageError", "WorkerNotReady", "open_stack",
]
