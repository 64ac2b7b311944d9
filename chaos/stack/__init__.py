"""Stacks: the incident's components, really started. `open_stack` picks the backend."""

from .base import Stack, WorkerInfo, WorkerState
from .config import DEFAULT_MODELS, RestartPolicy, StackConfig
from .local import LocalStack

BACKENDS = ("local", "compose")


def open_stack(config: StackConfig, backend: str = "local", **kwargs) -> Stack:
    from ..errors import UsageError

    if backend == "local":
        return LocalStack(config, **kwargs)
    if backend == "compose":
        from .compose import ComposeStack  # docker SDK and testcontainers only when asked for

        return ComposeStack(config, **kwargs)
    raise UsageError(f"unknown backend {backend!r}; expected one of: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "DEFAULT_MODELS", "LocalStack", "RestartPolicy", "Stack", "StackConfig", "WorkerInfo", "WorkerState", "open_stack"]
