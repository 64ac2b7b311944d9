"""The options of a chaos run, defined once for the CLI (`chaos run --rate 40`) and the pytest
plugin (`pytest -m chaos --chaos-rate 40`). RunSettings is what both produce."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from pathlib import Path

from .stack import BACKENDS
from .versions import DEFAULT_LITELLM_VERSION


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

    @property
    def flag(self) -> str:
        return self.name.replace("_", "-")


OPTIONS = (
    Option("litellm", "LiteLLM version (CLI: default the issue's for reproduce, else the default; pytest: repeatable, "
           "default every tested version)", metavar="VERSION"),
    Option("litellm_venv", "run the LiteLLM installed in this virtualenv (e.g. a patched build; pytest: judged by the "
           "contracts, no known failure expected)", type=Path, metavar="PATH"),
    Option("replicas", "LiteLLM replicas (default: the scenario's)", type=int, metavar="N", pytest=False),
    Option("rate", "chat requests per second per worker (default 40)", default=40.0, type=float, metavar="R"),
    Option("results", "evidence folders go here (default chaos-results)", default=Path("chaos-results"), type=Path, metavar="DIR"),
    Option("backend", "local processes (default) or Docker Compose", default="local", choices=BACKENDS),
    Option("images", "compose backend: the official images (default) or the ones `chaos images build` made",
           default="official", choices=("official", "local")),
    Option("seed_via", "seed models into the DB before the workers start (default) or through /model/new once they run",
           default="db", choices=("db", "api")),
    Option("full_window", "keep the whole recovery window (default: end once every contract invariant is decided, "
           "plus a 3 s tail)", switch=True),
    Option("fresh_stack", "a fresh stack for every run (default: reuse a warm one whose settings match, after a reset)",
           switch=True),
    Option("reuse_only", "stop when a run cannot reuse the warm stack (its settings differ)", switch=True),
    Option("keep_stack", "leave the stack of a failing run up for investigation (prints how to reach it and tear it "
           "down; with --chaos-fresh-stack)", switch=True, cli=False),
)


@dataclass(frozen=True)
class RunSettings:
    litellm: str | list[str] | None = None
    litellm_venv: Path | None = None
    replicas: int | None = None
    rate: float = 40.0
    results: Path = Path("chaos-results")
    backend: str = "local"
    images: str = "official"
    seed_via: str = "db"
    full_window: bool = False
    fresh_stack: bool = False
    reuse_only: bool = False
    keep_stack: bool = False

    def stack_fields(self, version: str | None = None) -> dict:
        """StackConfig fields these settings fix (the scenario adds its own)."""
        d = {"litellm_version": version or self.litellm or DEFAULT_LITELLM_VERSION, "images": self.images,
             "seed_via": self.seed_via}
        if self.litellm_venv:
            d["litellm_venv"] = Path(self.litellm_venv)
        return d


def add_cli(parser: argparse.ArgumentParser, only: tuple[str, ...] | None = None) -> None:
    for o in OPTIONS:
        if not o.cli or (only is not None and o.name not in only):
            continue
        if o.switch:
            parser.add_argument(f"--{o.flag}", action="store_true", help=o.help)
        else:
            parser.add_argument(f"--{o.flag}", type=o.type, default=o.default, choices=o.choices, metavar=o.metavar, help=o.help)


def add_pytest(group) -> None:
    for o in OPTIONS:
        if not o.pytest:
            continue
        name = f"--chaos-{o.flag}"
        if o.switch:
            group.addoption(name, action="store_true", help=o.help)
        elif o.name == "litellm":
            group.addoption(name, action="append", metavar=o.metavar, help=o.help)
        else:
            group.addoption(name, type=o.type, default=o.default, choices=o.choices, metavar=o.metavar, help=o.help)


def from_cli(args: argparse.Namespace) -> RunSettings:
    return RunSettings(**{f.name: getattr(args, f.name) for f in fields(RunSettings) if hasattr(args, f.name)})


def from_pytest(config) -> RunSettings:
    values = {o.name: config.getoption(f"--chaos-{o.flag}") for o in OPTIONS if o.pytest}
    return RunSettings(**values)
