"""The chaos scenarios against real stacks: `pytest -m chaos` (add -k S1 to pick one).

One test per (scenario, invariant, LiteLLM version). A scenario runs once per version and
session; every invariant is judged on that run. Invariants that fail because of a known upstream
bug are xfail(strict=True) (see expectations.py); a run that could not judge (harness error,
baseline not met) is a pytest error, not a failure."""

import pytest

from chaos import scenarios
from chaos.oracle.checkers import CHECKERS, NOT_CHECKED

from .expectations import known_failure

pytestmark = pytest.mark.chaos


@pytest.fixture
def run(scenario_name, litellm_version, chaos_runs):
    """The scenario's finished run; an aborted run raises here, in setup, so pytest reports an error."""
    return chaos_runs(scenario_name, litellm_version)


@pytest.mark.parametrize("invariant", list(CHECKERS))
@pytest.mark.parametrize("scenario_name", list(scenarios.SCENARIOS))
def test_invariant(scenario_name, invariant, litellm_version, run, request, record_property):
    checks = scenarios.get(scenario_name).checks
    if checks and invariant not in checks:
        pytest.skip(f"{scenario_name} does not check {invariant}")
    verdict = run.verdict
    record_property("evidence", verdict.evidence)
    record_property("report", f"{verdict.evidence}/report.html")
    record_property("verdict", verdict.status)
    record_property("failed_invariants", ",".join(verdict.failed) or "none")
    record_property("litellm_version", verdict.stack.get("litellm_version"))
    record_property("backend", verdict.stack.get("backend"))
    record_property("prisma_query_engine", verdict.stack.get("prisma_query_engine"))
    result = verdict.invariant(invariant)
    if result.status == NOT_CHECKED:
        pytest.skip(f"{invariant} not checked: {result.note}")
    reason = known_failure(scenario_name, litellm_version, invariant)
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    assert result.status == "pass", f"{invariant} failed\n{run.verdict_block}"
