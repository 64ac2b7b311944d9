"""The models a stack serves, and how their provider parameters point at the fake upstream.

A model is a name (what clients ask for) and the provider model behind it (`openai/gpt-4o-mini`,
`anthropic/claude-3-5-haiku-20241022`, ...). The provider prefix is kept, so LiteLLM routes and
translates as in production; `api_base` is the fake upstream (which speaks the OpenAI, Azure,
Anthropic and Gemini protocols) and the key a fake one, so no request leaves the machine."""

from __future__ import annotations

from dataclasses import dataclass, field

from chaos.errors import UsageError

FAKE_KEY = "fake-upstream-key"
# provider prefix -> the api_base suffix LiteLLM appends its path to, on the fake upstream
_BASE_SUFFIX = {"openai": "/v1", "hosted_vllm": "/v1", "openai_compatible": "/v1", "text-completion-openai": "/v1",
                "azure": "", "anthropic": "", "gemini": ""}
PROVIDERS = tuple(_BASE_SUFFIX)
# parameters that say where a request goes or who pays: always the stack's
_ROUTING_KEYS = ("api_base", "base_url", "api_key", "api_version", "organization")
# credentials of providers the fake upstream stands in for: never kept, never copied into evidence
SECRET_KEYS = ("api_key", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "vertex_credentials",
               "azure_ad_token", "client_secret", "tenant_id", "client_id", "organization")
# --models N: names and provider models, in turn
_FAMILIES = (("gpt-4o-mini", "openai"), ("claude-3-5-haiku", "anthropic"), ("gemini-2.5-flash", "gemini"),
             ("azure-gpt-4o", "azure"))


@dataclass(frozen=True)
class ModelSpec:
    name: str
    provider_model: str  # e.g. "anthropic/claude-3-5-haiku"
    extra: dict = field(default_factory=dict)  # the user's other litellm_params (rpm, timeout, ...), secrets removed

    @property
    def provider(self) -> str:
        return self.provider_model.split("/", 1)[0]

    def litellm_params(self, upstream_url: str, route: str | None = None) -> dict:
        """What LiteLLM gets: the provider model, pointed at the fake upstream (on `route`)."""
        base = f"{upstream_url}/r/{route}" if route else upstream_url
        params = dict(self.extra) | {"model": self.provider_model, "api_base": base + _BASE_SUFFIX[self.provider],
                                     "api_key": FAKE_KEY}
        if self.provider == "azure":
            params["api_version"] = self.extra.get("api_version", "2024-06-01")
        return params


def spec(name: str, provider_model: str | None = None, extra: dict | None = None) -> ModelSpec:
    """A model spec; the provider must be one the fake upstream speaks."""
    provider_model = provider_model or f"openai/{name}"
    provider = provider_model.split("/", 1)[0] if "/" in provider_model else ""
    if provider not in _BASE_SUFFIX:
        raise UsageError(f"model {name!r} uses provider {provider or provider_model!r}, which the fake upstream does not "
                         f"speak; expected one of: {', '.join(PROVIDERS)} (as litellm_params.model: PROVIDER/MODEL)")
    kept = {k: v for k, v in (extra or {}).items() if k not in _ROUTING_KEYS and k not in SECRET_KEYS and k != "model"}
    return ModelSpec(name, provider_model, kept)


def default_specs(names) -> tuple[ModelSpec, ...]:
    return tuple(spec(n) for n in names)


def generated(n: int) -> tuple[ModelSpec, ...]:
    """--models N: N names over a mix of provider prefixes (openai, anthropic, gemini, azure)."""
    if not isinstance(n, int) or n < 1:
        raise UsageError(f"--models {n!r}: expected a whole number of models >= 1")
    out = []
    for i in range(1, n + 1):
        family, provider = _FAMILIES[(i - 1) % len(_FAMILIES)]
        name = f"{family}-{i:03d}"
        out.append(spec(name, f"{provider}/{name}"))
    return tuple(out)


def from_names_file(path) -> tuple[ModelSpec, ...]:
    """--models-file: one model name a line (a `provider/` prefix picks the provider, else openai);
    blank names and duplicates are refused."""
    try:
        lines = open(path).read().splitlines()
    except OSError as exc:
        raise UsageError(f"--models-file {path}: {exc.strerror}") from None
    seen: dict[str, int] = {}
    out = []
    for number, line in enumerate(lines, 1):
        name = line.strip()
        if not name:
            if line or number < len(lines):
                raise UsageError(f"--models-file {path}: line {number} is empty; expected one model name a line")
            continue
        if any(c.isspace() for c in name):
            raise UsageError(f"--models-file {path}: line {number}: {name!r} is not a model name (no spaces)")
        if name in seen:
            raise UsageError(f"--models-file {path}: {name!r} on line {number} is a duplicate of line {seen[name]}")
        seen[name] = number
        prefix = name.split("/", 1)[0]
        out.append(spec(name, name if prefix in _BASE_SUFFIX else None))
    if not out:
        raise UsageError(f"--models-file {path}: no model names in it")
    return tuple(out)
