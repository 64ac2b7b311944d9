"""A scenario: a schedule, the stack it needs, and its contract (the invariants that decide its
verdict) and advisory invariants (reported, never deciding), with the bounds it is judged by.

Bounds are in reload intervals of the LiteLLM version at hand (30 s hard-coded in 1.82.3, the
stack's setting where the version reads PROXY_CONFIG_RELOAD_INTERVAL_SECONDS), never below a
floor that LiteLLM's own reconnect timing needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from chaos.errors import UsageError
from chaos.oracle.invariants import CHECKERS
from chaos.run.interpreter import Bounds
from chaos.scenarios.schedule import Schedule

# What the incident's reporter expected of a worker that restarts while its DB is unreachable:
# "should not serve traffic until router/model state is successfully loaded at least once, or
# should keep retrying and recover automatically".
RESTART_CONTRACT = ("no_invalid_model_ready_gated", "client_invalid_model", "readiness_truthful", "recovery",
                    "no_model_lost", "models_loaded_before_ready")
# A worker that is not ready and answers 400 instead of 503 is worth a line, not a failed fix.
RESTART_ADVISORY = ("no_invalid_model_strict", "listing_consistent", "no_stall")


@dataclass(frozen=True)
class BoundRules:
    # after heal, every pair serves again within this many reload intervals, plus a slack for the
    # reload itself (one interval proves a worker stuck: a correct one reloads within it) ...
    recovery_reloads: float = 1.0
    recovery_slack_s: float = 5.0
    # ... never tighter than LiteLLM's own reconnect: a reconnect already under way when the DB comes
    # back fails only at the engine's connect timeout (docs/findings/observed.md: 13-15 s under load),
    # then the next one (watchdog or cooldown: 5 s in the scenarios) and one model load must fit
    min_recovery_s: float = 30.0
    propagation_reloads: float = 2.0  # after a model change, every worker follows within this many ...
    propagation_slack_s: float = 0.0  # ... plus this
    min_propagation_s: float = 20.0

    def bounds(self, reload_interval_s: float) -> Bounds:
        return Bounds(recovery_s=max(self.recovery_reloads * reload_interval_s + self.recovery_slack_s, self.min_recovery_s),
                      propagation_s=max(self.propagation_reloads * reload_interval_s + self.propagation_slack_s,
                                        self.min_propagation_s))

    @classmethod
    def from_json(cls, data: dict, source: str) -> "BoundRules":
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) - known:
            raise UsageError(f"{source}: bounds={data!r}; expected an object with some of {sorted(known)}")
        return cls(**data)


@dataclass
class Scenario:
    name: str
    title: str
    schedule: Schedule
    stack: dict = field(default_factory=dict)  # StackConfig fields for this scenario
    contract: tuple[str, ...] = RESTART_CONTRACT
    advisory: tuple[str, ...] = RESTART_ADVISORY
    bounds: BoundRules = BoundRules()

    def validate(self) -> "Scenario":
        for name in (*self.contract, *self.advisory):
            if name not in CHECKERS:
                raise UsageError(f"scenario {self.name}: no invariant {name!r}; expected some of: {', '.join(CHECKERS)}")
        both = set(self.contract) & set(self.advisory)
        if both:
            raise UsageError(f"scenario {self.name}: {sorted(both)} is both contract and advisory; pick one role")
        self.schedule.validate(self.name)
        return self

    def general_settings(self) -> dict:
        """The LiteLLM general settings this scenario needs (they override a user's config)."""
        return {"allow_requests_on_db_unavailable": True} if self.stack.get("allow_requests_on_db_unavailable") else {}

    def premise_missing(self, config) -> str | None:
        """Why this scenario cannot show what it is about on a stack built from `config` (a
        StackConfig), or None. The incident is a worker missing its load of the models in the DB:
        without a single DB model (every model in the proxy config's model_list, none created by the
        schedule) a pass would mean nothing."""
        creates = any(step.create_models for step in self.schedule.steps)
        if creates or (config.seed_models and config.db_specs()):
            return None
        return (f"{self.name} needs models in the DB (the incident is a worker missing its load of the DB models), but "
                f"every model here is in the proxy config's model_list; for the incident's setup seed them into the DB: "
                f"--db-models-from FILE (with --litellm-config), or leave out --litellm-config's model_list")

    def role_of(self, invariant: str) -> str | None:
        return "contract" if invariant in self.contract else "advisory" if invariant in self.advisory else None

    def evidence_schedule(self, stack_fields: dict, rate_per_worker: float | None = None) -> Schedule:
        """The schedule as written into the evidence: with the stack (LiteLLM version or virtualenv
        included), the chat rate it ran at and what judges it, so `chaos replay` brings up the same
        stack and judges the same way."""
        return replace(self.schedule, stack=stack_fields, contract=list(self.contract), advisory=list(self.advisory),
                       bounds=asdict(self.bounds), rate_per_worker=rate_per_worker or self.schedule.rate_per_worker)

    @classmethod
    def from_schedule(cls, schedule: Schedule, title: str, default_stack: dict) -> "Scenario":
        """A replayed schedule file: judged by what it carries, else as a restart scenario."""
        return cls(schedule.name, title, schedule, stack=schedule.stack or default_stack,
                   contract=tuple(schedule.contract if schedule.contract is not None else RESTART_CONTRACT),
                   advisory=tuple(schedule.advisory if schedule.advisory is not None else RESTART_ADVISORY),
                   bounds=BoundRules.from_json(schedule.bounds, schedule.name) if schedule.bounds else BoundRules()).validate()
