"""Typed configuration of a stack. Validated before anything starts."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from chaos.errors import UsageError
from chaos.host.cpu_limit import check_cpu_limit
from chaos.litellm.models import ModelSpec, default_specs
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION, check_litellm_version

DEFAULT_MODELS = ("gpt-4o-mini", "google/gemini-2.5-flash", "claude-3-5-haiku")
MAX_REPLICAS = 16


@dataclass(frozen=True)
class RestartPolicy:
    """What Kubernetes or Compose would do with a worker that exits on its own: start it again,
    waiting initial_backoff_s, doubling per consecutive crash up to max_backoff_s; a worker that
    stayed up reset_after_s starts the count afresh. A worker stopped on purpose stays stopped."""

    enabled: bool = True
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 10.0
    reset_after_s: float = 30.0

    def backoff(self, consecutive_crashes: int) -> float:
        return min(self.max_backoff_s, self.initial_backoff_s * 2 ** max(0, consecutive_crashes - 1))


@dataclass(frozen=True)
class FrontDoorConfig:
    """The readiness-gated load balancer in front of the workers (chaos/stack/front_door.py),
    with the probe settings of a Kubernetes readiness probe (defaults are Kubernetes' own)."""

    enabled: bool = True
    period_s: float = 10.0  # periodSeconds
    failure_threshold: int = 3  # failureThreshold
    success_threshold: int = 1  # successThreshold
    timeout_s: float = 1.0  # timeoutSeconds

    def validate(self) -> "FrontDoorConfig":
        for name in ("period_s", "timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value <= 0:
                raise UsageError(f"front door {name}={value!r} must be a positive number of seconds")
        for name in ("failure_threshold", "success_threshold"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"front door {name}={value!r} must be a whole number >= 1")
        return self


COLD_START_ON_COMPOSE = ("--cold-start: the compose backend has no fast path, it starts every worker as a container "
                         "of its own, always a cold start; drop --cold-start")


@dataclass(frozen=True)
class StackConfig:
    replicas: int = 3
    litellm_version: str = DEFAULT_LITELLM_VERSION
    litellm_venv: Path | None = None  # run the LiteLLM of an existing environment instead
    models: tuple[str, ...] = DEFAULT_MODELS  # every model name the fleet serves (probed everywhere)
    # how each is served (provider, the user's parameters); empty: openai/<name> for every name
    model_specs: tuple[ModelSpec, ...] = ()
    # names among `models` defined in the workers' config file (the user's model_list), not in the DB
    config_models: tuple[str, ...] = ()
    # the user's proxy config (--litellm-config): its settings, with what the stack owns removed
    user_settings: dict = field(default_factory=dict)
    litellm_config: Path | None = None  # where they came from (recorded in the evidence)
    user_overrides: tuple[str, ...] = ()  # what of it the stack overrode, one line each
    seed_models: bool = True
    seed_via: str = "db"  # "db": rows written before the workers start; "api": /model/new on worker-1 after
    # LiteLLM general_settings: the incident needs allow_requests_on_db_unavailable: true
    allow_requests_on_db_unavailable: bool = False
    # "config": STORE_MODEL_IN_DB env + config file (the usual); "db": only the general_settings row
    # in the DB says so (LiteLLM issue 26237's second stuck path)
    store_model_in_db_source: str = "config"
    general_settings: dict = field(default_factory=dict)
    worker_env: dict = field(default_factory=dict)  # extra environment for every worker
    reload_interval_s: float = 5.0  # where the LiteLLM version lets us set it
    restart_policy: RestartPolicy = RestartPolicy()
    base_port: int | None = None  # consecutive ports from here instead of free ones
    ready_timeout_s: float = 120.0
    evidence_dir: Path | None = None  # where logs are kept when the run ends
    keep_logs: str = "on_failure"  # "always" | "on_failure" | "never"
    images: str = "official"  # compose backend: "official" images, or "local" ones (chaos images build)
    front_door: FrontDoorConfig = FrontDoorConfig()
    cpu_limit: float | None = None  # CPUs per worker, as a pod's limit (stack/cpu_limit.py); None: no limit
    # local backend: fork each worker from a template that imported LiteLLM once (stack/components/
    # worker_template.py); False (--cold-start): every start is a new interpreter. Compose starts
    # containers, always cold, whatever this says.
    fast_start: bool = True

    @classmethod
    def from_fields(cls, values: dict, source: str = "stack settings") -> "StackConfig":
        """From plain data (a schedule's `stack`, a scenario's overrides); unknown names are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UsageError(f"{source}: unknown stack setting(s) {unknown}; expected some of {sorted(known)}")
        values = dict(values)
        for name in ("models", "config_models"):  # lists in JSON (a replayed schedule.json)
            if isinstance(values.get(name), list):
                values[name] = tuple(values[name])
        if isinstance(values.get("restart_policy"), dict):
            values["restart_policy"] = RestartPolicy(**values["restart_policy"])
        if isinstance(values.get("front_door"), dict):
            door = values["front_door"]
            known_door = {f.name for f in fields(FrontDoorConfig)}
            if set(door) - known_door:
                raise UsageError(f"{source}: unknown front_door setting(s) {sorted(set(door) - known_door)}; expected some of {sorted(known_door)}")
            values["front_door"] = FrontDoorConfig(**door)
        return cls(**values)

    def specs(self) -> tuple[ModelSpec, ...]:
        return self.model_specs or default_specs(self.models)

    def db_specs(self) -> tuple[ModelSpec, ...]:
        """The models seeded into the DB (every model but the config file's)."""
        return tuple(m for m in self.specs() if m.name not in self.config_models)

    def spec_of(self, name: str) -> ModelSpec:
        return next((m for m in self.specs() if m.name == name), None) or default_specs([name])[0]

    def validate(self) -> "StackConfig":
        if not isinstance(self.replicas, int) or not 1 <= self.replicas <= MAX_REPLICAS:
            raise UsageError(f"--replicas {self.replicas} is out of range; expected a whole number from 1 to {MAX_REPLICAS}")
        if self.litellm_venv is None:
            check_litellm_version(self.litellm_version)
        if not self.models:
            raise UsageError("--models is empty; expected at least one model name")
        for name in self.models:
            if not name or not name.strip() or any(c.isspace() for c in name):
                raise UsageError(f"--models: {name!r} is not a model name; expected a name without spaces")
        if len(set(self.models)) != len(self.models):
            raise UsageError(f"--models lists a name twice: {list(self.models)}")
        if self.model_specs and [m.name for m in self.model_specs] != list(self.models):
            raise UsageError("model_specs must name exactly the models, in order")
        if set(self.config_models) - set(self.models):
            raise UsageError(f"config_models {sorted(set(self.config_models) - set(self.models))} are not among the models")
        if self.reload_interval_s <= 0:
            raise UsageError(f"reload interval {self.reload_interval_s} must be positive (seconds)")
        if self.ready_timeout_s <= 0:
            raise UsageError(f"ready timeout {self.ready_timeout_s} must be positive (seconds)")
        if self.store_model_in_db_source not in ("config", "db"):
            raise UsageError(f"store_model_in_db_source {self.store_model_in_db_source!r}; expected config or db")
        if self.seed_via not in ("db", "api"):
            raise UsageError(f"--seed-via {self.seed_via!r}; expected db or api")
        if self.images not in ("official", "local"):
            raise UsageError(f"--images {self.images!r}; expected official or local")
        if not isinstance(self.front_door, FrontDoorConfig):
            raise UsageError(f"front_door={self.front_door!r}; expected front door settings")
        self.front_door.validate()
        if self.cpu_limit is not None:
            check_cpu_limit(self.cpu_limit)
        if self.keep_logs not in ("always", "on_failure", "never"):
            raise UsageError(f"keep_logs {self.keep_logs!r}; expected always, on_failure or never")
        return self
