"""pytest wiring for litellm-chaos: options, markers and the default selection.

Chaos scenarios (marker `chaos`) are slow and run only when asked: `pytest -m chaos`."""

from __future__ import annotations

from chaos.versions import TESTED_LITELLM_VERSIONS


def pytest_addoption(parser):
    group = parser.getgroup("chaos", "litellm-chaos")
    group.addoption(
        "--chaos-litellm",
        action="append",
        metavar="VERSION",
        help=f"LiteLLM version(s) the stack tests and scenarios run against (default: {', '.join(TESTED_LITELLM_VERSIONS)})",
    )


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


def pytest_generate_tests(metafunc):
    if "litellm_version" in metafunc.fixturenames:
        versions = metafunc.config.getoption("--chaos-litellm") or list(TESTED_LITELLM_VERSIONS)
        metafunc.parametrize("litellm_version", versions, scope="module")
