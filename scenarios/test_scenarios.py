"""The chaos scenarios against real stacks: `pytest -m chaos` (add -k S1 to pick one).

Each scenario runs once per LiteLLM version and session. Then one test per invariant the scenario
names (its contract and advisory invariants), and one for its verdict (pass / fail, decided by
the contract). For a released version, an invariant that fails because of a known upstream bug
is xfail(strict=True) with the reason (expectations.py), so CI goes red when the behaviour
changes in either direction; one observed both ways is a non-strict xfail, named flaky. For
--chaos-litellm-venv (a patched build) nothing is expected to fail: every contract invariant must
hold, an advisory one that fails is a non-strict xfail. An invariant the run could not judge
(`unknown`: timeouts, a blind stretch, a saturated machine) is never taken for an expected
failure: a contract one fails its test, an advisory one is skipped with the reason. A run
that could not judge (harness error, baseline not met) is a pytest error, not a failure."""

import pytest

from chaos.oracle.context import NOT_CHECKED, UNKNOWN
from chaos.scenarios import catalog

from .expectations import FLAKY, expectation, expected_verdict

pytestmark = pytest.mark.chaos


def pytest_generate_tests(metafunc):
    if "invariant" in metafunc.fixturenames:
        pairs = [(name, inv) for name, make in catalog.SCENARIOS.items()
                 for inv in (*make().contract, *make().advisory)]
        metafunc.parametrize("scenario_name, invariant", pairs, ids=[f"{n}-{i}" for n, i in pairs])
    elif "scenario_name" in metafunc.fixturenames:
        metafunc.parametrize("scenario_name", list(catalog.SCENARIOS))


@pytest.fixture
def run(scenario_name, litellm_version, chaos_runs, record_property):
    """The scenario's finished run; an aborted run raises here, in setup, so pytest reports an error."""
    run = chaos_runs(scenario_name, litellm_version)
    verdict = run.verdict
    record_property("evidence", verdict.evidence)
    record_property("report", f"{verdict.evidence}/report.html")
    record_property("verdict", verdict.status)
    record_property("failed_invariants", ",".join(verdict.failed) or "none")
    record_property("litellm_version", verdict.stack.get("litellm_version"))
    record_property("backend", verdict.stack.get("backend"))
    record_property("prisma_query_engine", verdict.stack.get("prisma_query_engine"))
    return run


def test_invariant(scenario_name, invariant, litellm_version, run, request):
    scenario = catalog.get(scenario_name)
    result = run.verdict.invariant(invariant)
    if result.status == NOT_CHECKED:
        pytest.skip(f"{invariant} not checked: {result.note}")
    if result.status == UNKNOWN:  # never an answer, so never the expected failure either
        if scenario.role_of(invariant) == "advisory":
            pytest.skip(f"{invariant} (advisory) not judged: {result.note}")
        pytest.fail(f"{invariant} (contract) unknown: the run could not judge it\n{run.verdict_block}")
    if litellm_version.startswith("venv:"):
        if scenario.role_of(invariant) == "advisory":
            request.applymarker(pytest.mark.xfail(strict=False, reason=f"{invariant} is advisory in {scenario_name}"))
    else:
        known = expectation(scenario_name, litellm_version, invariant)
        if known:
            request.applymarker(pytest.mark.xfail(strict=known.kind != FLAKY, reason=f"{known.kind}: {known.reason}"))
    assert result.status == "pass", f"{invariant} ({scenario.role_of(invariant)}) {result.status}\n{run.verdict_block}"


def test_verdict(scenario_name, litellm_version, run, request):
    """The scenario's verdict, decided by its contract invariants alone."""
    expected = "pass" if litellm_version.startswith("venv:") else expected_verdict(scenario_name, litellm_version)
    if expected != "pass":
        request.applymarker(pytest.mark.xfail(strict=expected != FLAKY, reason=f"{scenario_name} {expected} on LiteLLM "
                                              f"{litellm_version} (a contract invariant is {expected}: expectations.py)"))
    assert run.verdict.status == "pass", run.verdict_block
