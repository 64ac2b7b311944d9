"""litellm-chaos: fault-injection chaos tests for the LiteLLM proxy in database mode."""

from chaos.errors import ChaosError, PrerequisiteMissing, StackStartError, UsageError, WorkerNotReady
from chaos.scenarios.schedule import Schedule, Step
from chaos.stack import LocalStack, RestartPolicy, Stack, StackConfig, open_stack

__version__ = "0.1.0"
__all__ = [
    "ChaosError", "LocalStack", "PrerequisiteMissing", "RestartPolicy", "Schedule", "Stack", "StackConfig",
    "StackStartError", "Step", "UsageError", "WorkerNotReady", "open_stack",
]
