"""The options of a chaos run, defined once for the CLI (`chaos run --rate 40`) and the pytest
plugin (`pytest -m chaos --chaos-rate 40`). RunSettings is what both produce."""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass, fields
from pathlib import Path

from chaos.errors import UsageError
from chaos.host.machine import FRONT_DOOR_SHARE, MANY_MODELS, budget, check_rate
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION
from chaos.stack import BACKENDS
from chaos.traffic import TrafficConfig


@dataclass(frozen=True)
class Option:
    name: str  # the RunSettings field; --NAME on the CLI, --chaos-NAME in pytest (dashes for underscores)
    help: str
    default: object = None
    type: type | None = None
    choices: tuple | None = None
    switch: bool = False  # a flag without a value
    metavar: str | None = None
    cli: bool = True
    pytest: bool = True
    pytest_help: str | None = None  # where pytest behaves otherwise than the CLI
    repeatable: bool = False  # pytest: given several times, a list

    def help_for(self, pytest: bool) -> str:
        return as_pytest_flags(self.pytest_help or self.help) if pytest else self.help

    @property
    def flag(self) -> str:
        return self.name.replace("_", "-")


OPTIONS = (
    Option("litellm", "LiteLLM version (default: for reproduce the issue's, else the default version)", metavar="VERSION",
           pytest_help="LiteLLM version to run the scenarios on; repeat it for several (default: every tested version)",
           repeatable=True),
    # the CLI names its scenarios as arguments (chaos run S1 S5)
    Option("scenario", "run only this scenario's tests; repeat it for several (default: every scenario)", metavar="NAME",
           cli=False, repeatable=True),
    Option("litellm_venv", "run the LiteLLM installed in this virtualenv (e.g. a patched build)", type=Path, metavar="PATH",
           pytest_help="run the scenarios on the LiteLLM installed in this virtualenv (e.g. a patched build): judged "
                       "by the contracts alone, no known failure expected"),
    Option("replicas", "LiteLLM replicas (default: the scenario's)", type=int, metavar="N"),
    Option("rate", "chat requests per second per worker, the front door's share included (default: sized to this "
           "machine and the fleet, see the verdict's `machine` block; a scenario's own rate is capped by it)",
           type=float, metavar="R"),
    Option("max_blind_share", "a contract invariant that held but was blind for more than this share of its window is "
           "unknown and the run inconclusive (default 0.05)", type=float, metavar="F"),
    Option("cpu_limit", "CPUs per LiteLLM worker, as a pod's CPU limit (cgroup quota locally, `cpus:` on compose; "
           "default: no limit)", type=float, metavar="CPUS"),
    Option("probe_per_pair_s", "probe every (worker, model) pair at least every S seconds: raises the rate as needed "
           "(or says this machine cannot)", type=float, metavar="S"),
    Option("models", "the models: N generated names over several providers (e.g. 140), or names A,B,C", metavar="N|A,B,C"),
    Option("models_file", "the models: one name a line (a provider/ prefix picks the provider)", type=Path, metavar="FILE"),
    Option("litellm_config", "your own LiteLLM proxy config.yaml: kept, but for what the stack owns (each override said)",
           type=Path, metavar="FILE"),
    Option("db_models_from", "with --litellm-config: seed this file's model_list into the DB (its models are DB models)",
           type=Path, metavar="FILE"),
    Option("results", "evidence folders go here (default chaos-results)", default=Path("chaos-results"), type=Path, metavar="DIR"),
    Option("backend", "local processes (default) or Docker Compose", default="local", choices=BACKENDS),
    Option("images", "compose backend: the official images (default) or the ones `chaos images build` made",
           default="official", choices=("official", "local")),
    Option("seed_via", "seed models into the DB before the workers start (default) or through /model/new once they run",
           default="db", choices=("db", "api")),
    Option("cold_start", "every worker start a new interpreter, a true cold start (use it when the import itself "
           "is the point); default on the local backend: each start forks a template process that imported LiteLLM "
           "once, and LiteLLM's startup (Prisma connect, settings, first model load, reload job) runs in the new "
           "process", switch=True),
    Option("full_window", "keep the whole recovery window (default: end once every contract invariant is decided, "
           "plus a 3 s tail)", switch=True),
    Option("fresh_stack", "a fresh stack for every run (default: reuse a warm one whose settings match, after a reset)",
           switch=True),
    Option("reuse_only", "stop when a run cannot reuse the warm stack (its settings differ)", switch=True),
    Option("keep_stack", "leave the stack of a failing run up for investigation (prints how to reach it and tear it "
           "down; implies --fresh-stack)", switch=True, cli=False),
)


@dataclass(frozen=True)
class RunSettings:
    litellm: str | list[str] | None = None
    scenario: list[str] | None = None  # pytest: only these scenarios' tests
    litellm_venv: Path | None = None
    replicas: int | None = None
    rate: float | None = None  # None: the scenario's own rate capped by the load budget, else the budget
    max_blind_share: float | None = None  # None: coverage.DEFAULT_MAX_BLIND_SHARE
    probe_per_pair_s: float | None = None
    cpu_limit: float | None = None
    models: str | None = None
    models_file: Path | None = None
    litellm_config: Path | None = None
    db_models_from: Path | None = None
    results: Path = Path("chaos-results")
    backend: str = "local"
    images: str = "official"
    seed_via: str = "db"
    cold_start: bool = False
    full_window: bool = False
    fresh_stack: bool = False
    reuse_only: bool = False
    keep_stack: bool = False

    def _version_fields(self, version: str | None) -> dict:
        d = {"litellm_version": version or self.litellm or DEFAULT_LITELLM_VERSION, "images": self.images,
             "seed_via": self.seed_via, "cpu_limit": self.cpu_limit, "fast_start": not self.cold_start}
        if self.litellm_venv:
            d["litellm_venv"] = Path(self.litellm_venv)
        return d

    def stack_fields(self, version: str | None = None, scenario_general: dict | None = None) -> dict:
        """StackConfig fields these settings fix (the scenario adds its own)."""
        return self._version_fields(version) | model_fields(self, scenario_general)

    def scenario_fields(self, scenario, version: str | None = None) -> dict:
        """The StackConfig fields of `scenario` under these settings: the scenario's stack over the
        settings, but the models the user named (--models, --models-file, --litellm-config) over both."""
        fields = self._version_fields(version) | scenario.stack | model_fields(self, scenario.general_settings())
        if self.replicas is not None:
            fields["replicas"] = self.replicas
        return fields

    def traffic_for(self, config, scenario) -> TrafficConfig:
        """The traffic of `scenario` on a stack built from `config` (a StackConfig)."""
        return self.traffic(len(config.models), config.replicas, scenario.schedule.rate_per_worker, config.litellm_version,
                            config.cpu_limit)

    def traffic(self, models: int, workers: int, scenario_rate: float | None = None,
                litellm_version: str | None = None, cpu_limit: float | None = None) -> TrafficConfig:
        return plan_traffic(self.rate, self.probe_per_pair_s, scenario_rate, models, workers, litellm_version,
                            cpu_limit=cpu_limit)


def plan_traffic(asked: float | None, probe_per_pair_s: float | None, scenario_rate: float | None, models: int,
                 workers: int, litellm_version: str | None = None, cores: int | None = None,
                 cpu_limit: float | None = None) -> TrafficConfig:
    """The traffic of a run, sized to the machine (machine.budget): --rate if the machine carries
    it, else the scenario's own rate capped by the budget, else the budget; raised to what
    --probe-per-pair-s asks if the machine carries that. The front door gets a fixed share."""
    b = budget(workers, models, litellm_version, cores, cpu_limit)
    if asked is not None:
        check_positive("rate", asked, "requests/s per worker")
        check_rate(asked, b)
        rate, source = asked, "--rate"
    elif scenario_rate is not None:
        rate = min(scenario_rate, b.rate_per_worker)
        source = "the scenario's rate" + (" (capped by the load budget)" if rate < scenario_rate else "")
    else:
        rate, source = b.rate_per_worker, "the load budget"
    if probe_per_pair_s is not None:
        check_positive("probe_per_pair_s", probe_per_pair_s, "seconds")
        needed = models / probe_per_pair_s / (1 - FRONT_DOOR_SHARE)
        if needed > rate:
            if needed > b.rate_per_worker * 1.5:
                can = models / (b.rate_per_worker * 1.5 * (1 - FRONT_DOOR_SHARE))
                raise UsageError(f"--probe-per-pair-s {probe_per_pair_s:g}: {models} models need {needed:.0f} chats/s per "
                                 f"worker; this machine carries about {b.rate_per_worker:g} ({b.why}); ask for "
                                 f"--probe-per-pair-s {can:.1f} or more")
            rate, source = needed, "--probe-per-pair-s"
    # a listing of many models costs as much as many chats: poll them less often (each still far
    # more often than the 30 s reload interval such a stack keeps)
    listing_share = min(1.0, MANY_MODELS / models) if models else 1.0
    default = TrafficConfig()
    return TrafficConfig(rate_per_worker=round(rate, 2), front_door_rate=round(rate * workers * FRONT_DOOR_SHARE, 2),
                         listing_rate_per_worker=round(default.listing_rate_per_worker * listing_share, 2),
                         model_info_rate_per_worker=round(default.model_info_rate_per_worker * listing_share, 2),
                         rate_source=source)


def check_positive(name: str, value: float, unit: str) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        shown = f"{value:g}" if isinstance(value, (int, float)) else repr(value)
        raise UsageError(f"--{name.replace('_', '-')} {shown}: expected a positive number ({unit})")
    return value


def check_settings(settings: RunSettings, min_replicas: int = 2) -> RunSettings:
    """Every check a run makes on its settings, made once before anything starts (the CLI's run
    verbs and the pytest plugin alike); a UsageError names the CLI flag. min_replicas: the smallest
    fleet the runs will have (a --rate the budget cannot carry for it is refused for all)."""
    from chaos.host.cpu_limit import CpuLimits, check_cpu_limit
    from chaos.litellm.env import check_available, env_from_venv
    from chaos.oracle.coverage import check_blind_share
    from chaos.stack.config import COLD_START_ON_COMPOSE, MAX_REPLICAS

    versions = settings.litellm if isinstance(settings.litellm, list) else [settings.litellm]
    if settings.litellm_venv:
        if settings.backend == "compose":
            raise UsageError("--litellm-venv runs a local virtualenv: use it with --backend local")
        env_from_venv(settings.litellm_venv)
    else:
        for version in versions:
            if version:
                check_available(version)
    from chaos.scenarios import catalog

    for name in settings.scenario or []:
        if name.upper() not in catalog.SCENARIOS:
            raise UsageError(f"--scenario {name!r}: no such scenario; expected some of {', '.join(catalog.SCENARIOS)}")
    if settings.replicas is not None and (isinstance(settings.replicas, bool) or not 1 <= settings.replicas <= MAX_REPLICAS):
        raise UsageError(f"--replicas {settings.replicas} is out of range; expected a whole number from 1 to {MAX_REPLICAS}")
    if settings.max_blind_share is not None:
        check_blind_share(settings.max_blind_share)
    if settings.cold_start and settings.backend == "compose":
        raise UsageError(COLD_START_ON_COMPOSE)
    if settings.cpu_limit is not None:
        check_cpu_limit(settings.cpu_limit)
        if settings.backend == "local":
            CpuLimits.for_run(settings.cpu_limit, "check")  # refused here when this machine sets no CPU limit
    models = len(model_fields(settings).get("models") or ()) or 3  # also: the model files parse
    version = None if settings.litellm_venv else next((v for v in versions if v), DEFAULT_LITELLM_VERSION)
    plan_traffic(settings.rate, settings.probe_per_pair_s, None, models, settings.replicas or min_replicas, version,
                 cpu_limit=settings.cpu_limit)
    return settings


def model_fields(settings: "RunSettings", scenario_general: dict | None = None) -> dict:
    """The models' StackConfig fields from --litellm-config / --db-models-from, --models, --models-file."""
    from chaos.litellm import models as m, user_config

    if settings.models and settings.models_file:
        raise UsageError("--models and --models-file both name the models; pick one")
    if settings.db_models_from and not settings.litellm_config:
        raise UsageError("--db-models-from goes with --litellm-config")
    if settings.models_file:
        specs, source = m.from_names_file(settings.models_file), "--models-file"
    elif settings.models:
        text = str(settings.models)
        specs = m.generated(int(text)) if text.strip().lstrip("-").isdigit() else m.default_specs(
            tuple(n.strip() for n in text.split(",")))
        source = "--models"
    else:
        specs, source = (), ""
    if settings.litellm_config:  # the user's settings; --models / --models-file seeded into the DB beside them
        uc = user_config.load(settings.litellm_config, settings.db_models_from, scenario_general, tuple(specs), source)
        specs = (*uc.config_models, *uc.db_models)
        return {"models": tuple(s.name for s in specs), "model_specs": specs,
                "config_models": tuple(s.name for s in uc.config_models), "user_settings": uc.settings,
                "litellm_config": Path(settings.litellm_config), "user_overrides": tuple(uc.overrides)} | reload_for(specs)
    if not specs:
        return {}
    return {"models": tuple(s.name for s in specs), "model_specs": specs} | reload_for(specs)


# Past MANY_MODELS the stack keeps LiteLLM's own reload interval (30 s) instead of its quick 5 s: one
# reload of 140 models takes over 5 s of CPU per worker on a 2-core machine, so at 5 s the reload job
# overruns itself and the fleet alone saturates the machine (CPU pressure 93 % before any fault,
# 3 replicas of 1.108.7); the bounds follow the interval.
LITELLM_RELOAD_INTERVAL_S = 30.0


def reload_for(specs) -> dict:
    return {"reload_interval_s": LITELLM_RELOAD_INTERVAL_S} if len(specs) > MANY_MODELS else {}


def add_cli(parser: argparse.ArgumentParser, only: tuple[str, ...] | None = None) -> None:
    for o in OPTIONS:
        if not o.cli or (only is not None and o.name not in only):
            continue
        if o.switch:
            parser.add_argument(f"--{o.flag}", action="store_true", help=o.help_for(pytest=False))
        else:
            parser.add_argument(f"--{o.flag}", type=o.type, default=o.default, choices=o.choices, metavar=o.metavar,
                                help=o.help_for(pytest=False))


def add_pytest(group) -> None:
    for o in OPTIONS:
        if not o.pytest:
            continue
        name = f"--chaos-{o.flag}"
        if o.switch:
            group.addoption(name, action="store_true", help=o.help_for(pytest=True))
        elif o.repeatable:
            group.addoption(name, action="append", metavar=o.metavar, help=o.help_for(pytest=True))
        else:
            group.addoption(name, type=o.type, default=o.default, choices=o.choices, metavar=o.metavar,
                            help=o.help_for(pytest=True))


def as_pytest_flags(message: str) -> str:
    """A message naming CLI flags (--rate) with the pytest plugin's names (--chaos-rate)."""
    for o in sorted((o for o in OPTIONS if o.pytest), key=lambda o: -len(o.flag)):
        message = re.sub(rf"(?<![\w-])--{re.escape(o.flag)}(?![\w-])", f"--chaos-{o.flag}", message)
    return message


def from_cli(args: argparse.Namespace) -> RunSettings:
    """The CLI's options (a verb's own arguments of the same name, e.g. bisect's SCENARIO, are not options)."""
    cli = {o.name for o in OPTIONS if o.cli}
    return RunSettings(**{f.name: getattr(args, f.name) for f in fields(RunSettings) if f.name in cli and hasattr(args, f.name)})


def from_pytest(config) -> RunSettings:
    values = {o.name: config.getoption(f"--chaos-{o.flag}") for o in OPTIONS if o.pytest}
    return RunSettings(**values)
