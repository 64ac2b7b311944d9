"""One way to build a run, for every caller (the CLI's run verbs, the pytest plugin, selftest,
explore, shrink, bisect): settings + scenario (+ version) -> a RunPlan, checked and with its
LiteLLM environment built before a Run exists; and the warm-stack pool those settings ask for.

    plan = plan_run(settings, scenario, version)   # every bad input fails here, nothing started
    with stack_pool(settings) as pool:
        verdict = Run(plan, pool=pool).execute()"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from pathlib import Path

from chaos.errors import UsageError
from chaos.faults import StackShape, make_fault
from chaos.litellm.env import ensure_env, env_from_venv
from chaos.options import RunSettings
from chaos.scenarios.scenario import Scenario
from chaos.scenarios.schedule import Schedule
from chaos.stack import StackConfig
from chaos.traffic import TrafficConfig


@dataclass(frozen=True)
class RunPlan:
    """Everything a run needs, decided: the scenario, its stack, its traffic, how it is judged and
    where its evidence goes."""

    scenario: Scenario
    stack: StackConfig
    traffic: TrafficConfig
    results: Path = Path("chaos-results")
    backend: str = "local"
    full_window: bool = False  # keep the whole recovery window instead of ending once decided
    max_blind_share: float | None = None  # None: oracle.coverage's default
    keep_stack: bool = False  # a failing run leaves its stack up for a person to look at


def plan_run(settings: RunSettings, scenario: Scenario, version: str | None = None, *, base: dict | None = None,
             overrides: dict | None = None) -> RunPlan:
    """The plan of `scenario` under `settings` (on LiteLLM `version` if given). base: stack fields
    under the scenario's (a pytest suite's chaos_stack_config); overrides: over everything."""
    scenario.validate()
    values = (base or {}) | settings.scenario_fields(scenario, version) | (overrides or {})
    stack = StackConfig.from_fields(values, f"scenario {scenario.name}").validate()
    check_schedule(scenario.schedule, StackShape(stack.replicas))
    if settings.backend == "local":  # built now, before a Run exists (a bad version is one line here)
        env_from_venv(stack.litellm_venv) if stack.litellm_venv else ensure_env(stack.litellm_version)
    return RunPlan(scenario, stack, settings.traffic_for(stack, scenario).validate(), Path(settings.results),
                   settings.backend, settings.full_window, settings.max_blind_share, settings.keep_stack)


def stack_fields_of(config: StackConfig) -> dict:
    """A StackConfig as plain fields (a base for plan_run)."""
    return {f.name: getattr(config, f.name) for f in fields(config)}


def stack_pool(settings: RunSettings, *, fresh: bool = False):
    """The warm-stack pool the settings ask for (--fresh-stack, --reuse-only; a kept stack is a
    fresh one); fresh: a stack of its own whatever the settings say."""
    from chaos.stack.pool import StackPool

    return StackPool(settings.backend, fresh=fresh or settings.fresh_stack or settings.keep_stack,
                     reuse_only=settings.reuse_only, log=lambda m: print(m, file=sys.stderr, flush=True))


def check_schedule(schedule: Schedule, shape: StackShape) -> None:
    """Every worker, link and fault parameter a schedule names must exist on the stack."""
    unknown = schedule.workers_named() - set(shape.worker_names())
    if unknown:
        raise UsageError(f"schedule {schedule.name!r} names worker(s) {sorted(unknown)}; the stack has {', '.join(shape.worker_names())}")
    for step in schedule.steps:
        if step.apply is not None:
            make_fault(step.apply, shape)
