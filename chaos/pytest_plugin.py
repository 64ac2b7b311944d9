"""The pytest plugin of litellm-chaos (entry point `pytest11: chaos`): the `chaos` marker, the
`--chaos-*` options (chaos/options.py, shared with the CLI) and the fixtures.

Chaos scenarios (marker `chaos`) are slow and run only when asked: `pytest -m chaos`. Runs share
one warm stack per (LiteLLM version, backend, stack settings) for the session (a reset between
runs; `--chaos-fresh-stack` opts out), and scenario tests are ordered so runs on the same stack
settings come together."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chaos import options
from chaos.litellm.versions import TESTED_LITELLM_VERSIONS


def pytest_addoption(parser):
    group = parser.getgroup("chaos", "litellm-chaos")
    options.add_pytest(group)
    group.addoption("--chaos-stack-scope", choices=("session", "module", "function"), default="session",
                    help="how long the chaos_stack fixture's stack lives (default session; the warm stack is reset between users)")


def pytest_configure(config):
    config.addinivalue_line("markers", "chaos: a chaos scenario against a real stack (run with -m chaos)")
    config.addinivalue_line("markers", "stack: starts a real local stack (PostgreSQL, HAProxy, Toxiproxy, LiteLLM)")
    if not config.getoption("help", False):
        _check_options(config)


def _check_options(config) -> None:
    """The --chaos-* options get the CLI's own checks before collection: one line naming the
    pytest flag, instead of an error in every test."""
    from chaos.errors import ChaosError

    try:
        options.check_settings(options.from_pytest(config))
    except ChaosError as exc:
        raise pytest.UsageError(options.as_pytest_flags(str(exc))) from None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    _only_named_scenarios(config, items)
    if not config.getoption("-m"):  # without a marker expression, chaos scenarios are left out
        deselected = [item for item in items if item.get_closest_marker("chaos") is not None]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item.get_closest_marker("chaos") is None]
        return
    items[:] = sorted(items, key=_stack_order(items))


def _only_named_scenarios(config, items) -> None:
    """--chaos-scenario S1 --chaos-scenario S5: the other scenarios' tests are deselected (a nightly shard)."""
    from chaos.scenarios import catalog

    named = {catalog.get(n).name for n in config.getoption("--chaos-scenario") or []}
    if not named:
        return
    keep = [i for i in items if getattr(getattr(i, "callspec", None), "params", {}).get("scenario_name", next(iter(named))) in named]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def _stack_order(items):
    """Runs on the same stack settings next to each other (a warm stack serves them all), each
    scenario's tests together; other tests keep their place."""
    from chaos.scenarios import catalog

    position = {id(item): i for i, item in enumerate(items)}
    keys: dict[str, str] = {}

    def key(item):
        params = getattr(getattr(item, "callspec", None), "params", {})
        name = params.get("scenario_name")
        if name not in catalog.SCENARIOS:
            return (0, "", "", "", position[id(item)])
        if name not in keys:
            keys[name] = repr(sorted(catalog.get(name).stack.items()))
        return (1, str(params.get("litellm_version")), keys[name], f"{list(catalog.SCENARIOS).index(name):03d}", position[id(item)])

    return key


def _venv_version(config) -> str | None:
    """The LiteLLM version in --chaos-litellm-venv (read once; a bad venv is one clear line)."""
    venv = config.getoption("--chaos-litellm-venv")
    if not venv:
        return None
    if not hasattr(config, "_chaos_venv_version"):
        from chaos.errors import ChaosError
        from chaos.litellm.env import env_from_venv

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


class ScenarioInconclusive(Exception):
    """Nothing failed, but the run did not see enough to call it a pass (blind for too much of a
    contract invariant's window, or only timeouts where it needed an answer): an error, not a pass."""


@pytest.fixture(scope="session")
def chaos_settings(request) -> options.RunSettings:
    """The --chaos-* options as RunSettings (checked at configure time; override to fix them in a
    test suite of your own)."""
    return options.from_pytest(request.config)


@pytest.fixture(scope="session")
def chaos_pool(request, chaos_settings):
    """The session's warm stack (one at a time, reused by every run whose stack settings match)."""
    from chaos.run.plan import stack_pool

    if chaos_settings.backend == "compose":
        request.getfixturevalue("chaos_docker_engine")
    with stack_pool(chaos_settings) as pool:
        yield pool


def _stack_scope(fixture_name, config) -> str:
    return config.getoption("--chaos-stack-scope")


@pytest.fixture(scope="session")
def chaos_stack_config(chaos_settings):
    """The StackConfig of chaos_stack and chaos_run (override it for a suite of your own): the
    --chaos-* settings (version, models, your proxy config), 2 replicas."""
    from chaos.stack import StackConfig

    fields = {"replicas": chaos_settings.replicas or 2} | chaos_settings.stack_fields(_first_version(chaos_settings))
    return StackConfig.from_fields(fields, "chaos_stack_config")


def _first_version(settings) -> str | None:
    return settings.litellm[0] if isinstance(settings.litellm, list) and settings.litellm else settings.litellm


@pytest.fixture(scope=_stack_scope)
def chaos_stack(chaos_pool, chaos_stack_config):
    """A started stack (the session's warm one when its settings match, reset first)."""
    stack, _ = chaos_pool.acquire(chaos_stack_config)
    yield stack
    chaos_pool.release(touched=set(stack.worker_names()), healthy=stack.status == "ready")


@pytest.fixture
def chaos_run(request, chaos_settings, chaos_pool, chaos_stack_config):
    """run(what, **stack_overrides) -> the finished Run (its .verdict, .evidence, .verdict_block):
    `what` is a Scenario, a built-in scenario's name ("S1"), a Schedule, or a schedule file. The
    stack is chaos_stack_config with the scenario's own settings and the overrides on top."""
    from chaos.run.plan import plan_run, stack_fields_of
    from chaos.run.runner import Run
    from chaos.scenarios import catalog
    from chaos.scenarios.scenario import Scenario
    from chaos.scenarios.schedule import Schedule

    def run(what, **overrides):
        if isinstance(what, str) and what.upper() in catalog.SCENARIOS:
            scenario = catalog.get(what)
        elif isinstance(what, (str, Path)):
            scenario = Scenario.from_schedule(Schedule.load(what), f"schedule {what}", {})
        elif isinstance(what, Schedule):
            scenario = Scenario.from_schedule(what, what.name, {})
        else:
            scenario = what
        plan = plan_run(chaos_settings, scenario, chaos_stack_config.litellm_version,
                        base=stack_fields_of(chaos_stack_config), overrides=overrides)
        r = Run(plan, pool=chaos_pool)
        r.execute()
        return r

    return run


@pytest.fixture(scope="session")
def chaos_runs(request, chaos_settings, chaos_pool):
    """Runs each (scenario, LiteLLM version) once per session and hands out the finished Run
    (its verdict, evidence folder and console verdict block)."""
    from chaos.oracle.verdict import ABORTED, INCONCLUSIVE, NOT_APPLICABLE
    from chaos.run.plan import plan_run
    from chaos.run.runner import Run
    from chaos.scenarios import catalog

    s = chaos_settings
    cache = {}
    ensure_images = (request.getfixturevalue("chaos_compose_images") if s.backend == "compose" and s.images == "local"
                     else lambda versions: None)

    def get(name: str, version: str):
        """version: a released LiteLLM, or "venv:X.Y.Z" for --chaos-litellm-venv."""
        if (name, version) not in cache:
            scenario = catalog.get(name)
            ensure_images([version])
            run = Run(plan_run(s, scenario, version.removeprefix("venv:")), pool=None if s.keep_stack else chaos_pool)
            run.execute()
            if run.kept_stack:  # shown at once, not only in a failure report
                print("\n" + run.stack.inspection_hint(), file=sys.stderr, flush=True)
            cache[(name, version)] = run
        run = cache[(name, version)]
        if run.verdict.status == ABORTED:
            raise ScenarioAborted(f"{name} on LiteLLM {version} aborted: {run.verdict.reason}\n{run.verdict_block}")
        if run.verdict.status == NOT_APPLICABLE:
            pytest.skip(f"{name} on LiteLLM {version} not applicable: {run.verdict.reason}")
        if run.verdict.status == INCONCLUSIVE:
            raise ScenarioInconclusive(f"{name} on LiteLLM {version} inconclusive: {run.verdict.reason}\n{run.verdict_block}")
        return run

    return get


@pytest.fixture(scope="session")
def chaos_docker_engine(tmp_path_factory):
    """A Docker engine for the compose backend: the running one, or a private dockerd started
    for the session (and stopped after it). Skips only where no engine can be started at all."""
    from chaos.host.docker_env import DockerUnavailable, PrivateDockerd

    try:
        with PrivateDockerd(tmp_path_factory.mktemp("dockerd") / "dockerd.log") as engine:
            yield engine
    except DockerUnavailable as exc:
        pytest.skip(f"no Docker engine can be started here: {exc}")


@pytest.fixture(scope="session")
def chaos_compose_images(chaos_docker_engine):
    """Builds the local images (`chaos images build`) of the LiteLLM versions asked for, once per
    session; images stay for later sessions."""
    from chaos.stack.backends.images import build_all, options_from_environment

    built: set[str] = set()

    def ensure(versions) -> None:
        todo = [v for v in versions if v not in built]
        if todo:
            build_all(options_from_environment(todo), log=lambda msg: print(f"images: {msg}", file=sys.stderr))
            built.update(todo)

    return ensure
