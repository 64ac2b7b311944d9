"""The fake OpenAI-compatible upstream: plays the LLM provider behind LiteLLM."""

from chaos.upstream.server import UpstreamBehaviour, build_app

__all__ = ["UpstreamBehaviour", "build_app"]
