"""pytest wiring for litellm-chaos: options, markers and the default selection.

Chaos scenarios (marker `chaos`) are slow and run only when asked: `pytest -m chaos`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chaos.versions import TESTED_LITELLM_VERSIONS


def pytest_addoption(parser):
    group = parser.getgroup("chaos", "litellm-chaos")
    group.addoption(
        "--chaos-litellm",
        action="append",
        metavar="VERSION",
        help=f"LiteLLM version(s) the stack tests and scenarios run against (default: {', '.join(TESTED_LITELLM_VERSIONS)})",
    )
    group.addoption("--chaos-litellm-venv", metavar="PATH",
                    help="run the scenarios on the LiteLLM installed in this virtualenv (e.g. a patched build): "
                         "judged by each scenario's contract, with no known failures expected")
    group.addoption("--chaos-results", default="chaos-results", metavar="DIR", help="evidence folders go here (default chaos-results)")
    group.addoption("--chaos-rate", type=float, default=40.0, metavar="R", help="chat requests/s per worker in scenarios (default 40)")
    group.addoption("--chaos-backend", choices=("local", "compose"), default="local",
                    help="where scenarios run: local processes (default) or Docker Compose")
    group.addoption("--chaos-images", choices=("official", "local"), default="official",
                    help="compose backend: official images (default) or the ones `chaos images build` made")
    group.addoption("--chaos-keep-stack", action="store_true",
                    help="leave the stack of a failing scenario up for investigation (prints how to reach it and tear it down)")


def pytest_configure(config):
    config.addinivalue_line("markers", "chaos: a chaos scenario against a real stack (run with -m chaos)")
    config.addinivalue_line("markers", "stack: starts a real local stack (PostgreSQL, HAProxy, Toxiproxy, LiteLLM)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("-m"):
        return  # an explicit marker expression decides
    kept = [item for item in items if item.get_closest_marker("chaos") is None]
    deselected = [item for item in items if item.get_closest_marker("chaos") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _venv_version(config) -> str | None:
    """The LiteLLM version in --chaos-litellm-venv (read once; a bad venv is one clear line)."""
    venv = config.getoption("--chaos-litellm-venv")
    if not venv:
        return None
    if not hasattr(config, "_chaos_venv_version"):
        from chaos.errors import ChaosError
        from chaos.litellm_env import env_from_venv

        try:
            config._chaos_venv_version = env_from_venv(venv).version
        except ChaosError as exc:
            raise pytest.UsageError(f"--chaos-litellm-venv: {exc}") from None
    return config._chaos_venv_version


def pytest_generate_tests(metafunc):
    if "litellm_version" in metafunc.fixturenames:
        venv_version = _venv_version(metafunc.config)
        if venv_version:
            versions = [pytest.param(f"venv:{venv_version}", id=f"venv-{venv_version}")]
        else:
            versions = metafunc.config.getoption("--chaos-litellm") or list(TESTED_LITELLM_VERSIONS)
        metafunc.parametrize("litellm_version", versions, scope="module")


class ScenarioAborted(Exception):
    """The run could not judge the system under test (harness error or baseline not met)."""


@pytest.fixture(scope="session")
def chaos_runs(request):
    """Runs each (scenario, LiteLLM version) once per session and hands out the finished Run
    (its verdict, evidence folder and console verdict block)."""
    from chaos import scenarios
    from chaos.runner import Run
    from chaos.stack import StackConfig
    from chaos.traffic import TrafficConfig

    cache = {}
    results = Path(request.config.getoption("--chaos-results"))
    rate = request.config.getoption("--chaos-rate")
    keep_stack = request.config.getoption("--chaos-keep-stack")
    backend = request.config.getoption("--chaos-backend")
    images = request.config.getoption("--chaos-images")

    if backend == "compose":  # the engine and, for --chaos-images local, the images
        request.getfixturevalue("docker_engine")
        ensure_images = request.getfixturevalue("compose_images") if images == "local" else lambda versions: None

    venv = request.config.getoption("--chaos-litellm-venv")
    if venv and backend == "compose":
        raise pytest.UsageError("--chaos-litellm-venv runs a local virtualenv: use it with --chaos-backend local")

    def get(name: str, version: str):
        """version: a released LiteLLM, or "venv:X.Y.Z" for --chaos-litellm-venv."""
        if (name, version) not in cache:
            scenario = scenarios.get(name)
            if backend == "compose":
                ensure_images([version])
            fields = {"litellm_version": version.removeprefix("venv:"), "images": images}
            if version.startswith("venv:"):
                fields["litellm_venv"] = Path(venv)
            config = StackConfig.from_fields(fields | scenario.stack, f"scenario {name}")
            run = Run(scenario, config, TrafficConfig(rate_per_worker=rate), results, backend=backend, keep_stack=keep_stack)
            run.execute()
            if run.kept_stack:  # shown at once, not only in a failure report
                print("\n" + run.stack.inspection_hint(), file=sys.stderr, flush=True)
            cache[(name, version)] = run
        run = cache[(name, version)]
        if run.verdict.status == "aborted":
            raise ScenarioAborted(f"{name} on LiteLLM {version} aborted: {run.verdict.reason}\n{run.verdict_block}")
        return run

    return get


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory):
    """A Docker engine for the compose backend: the running one, or a private dockerd started
    for the session (and stopped after it). Skips only where no engine can be started at all."""
    from chaos.docker_env import DockerUnavailable, PrivateDockerd

    try:
        with PrivateDockerd(tmp_path_factory.mktemp("dockerd") / "dockerd.log") as engine:
            yield engine
    except DockerUnavailable as exc:
        pytest.skip(f"no Docker engine can be started here: {exc}")


@pytest.fixture(scope="session")
def compose_images(docker_engine):
    """Builds the local images (`chaos images build`) of the LiteLLM versions asked for, once per
    session; images stay for later sessions."""
    from chaos.images import build_all, options_from_environment

    built: set[str] = set()

    def ensure(versions) -> None:
        todo = [v for v in versions if v not in built]
        if todo:
            build_all(options_from_environment(todo), log=lambda msg: print(f"images: {msg}", file=sys.stderr))
            built.update(todo)

    return ensure
