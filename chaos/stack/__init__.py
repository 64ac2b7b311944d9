"""Stacks: the incident's components, really started. `open_stack` picks the backend."""

from chaos.stack.backends.local import LocalStack
from chaos.stack.base import Stack, WorkerInfo, WorkerState
from chaos.stack.config import DEFAULT_MODELS, RestartPolicy, StackConfig

BACKENDS = ("local", "compose")


def open_stack(config: StackConfig, backend: str = "local", **kwargs) -> Stack:
    from chaos.errors import UsageError

    if backend == "local":
        return LocalStack(config, **kwargs)
    if backend == "compose":
        from chaos.stack.backends.compose import ComposeStack  # docker SDK and testcontainers only when asked for

        return ComposeStack(config, **kwargs)
    raise UsageError(f"unknown backend {backend!r}; expected one of: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "DEFAULT_MODELS", "LocalStack", "RestartPolicy", "Stack", "StackConfig", "WorkerInfo", "WorkerState", "open_stack"]
