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
def verdict(scenario_name, litellm_version, chaos_verdicts):
    """The scenario's verdict; an aborted run raises here, in setup, so pytest reports an error."""
    return chaos_verdicts(scenario_name, litellm_version)


@pytest.mark.parametrize("invariant", list(CHECKERS))
@pytest.mark.parametrize("scenario_name", list(scenarios.SCENARIOS))
def test_invariant(scenario_name, invariant, litellm_version, verdict, request, record_property):
    checks = scenarios.get(scenario_name).checks
    if checks and invariant not in checks:
        pytest.skip(f"{scenario_name} does not check {invariant}")
    record_property("evidence", verdict.evidence)
    record_property("verdict", verdict.status)
    record_property("litellm_version", verdict.stack.get("litellm_version"))
    record_property("prisma_query_engine", verdict.stack.get("prisma_query_engine"))
    result = verdict.invariant(invariant)
    if result.status == NOT_CHECKED:
        pytest.skip(f"{invariant} not checked: {result.note}")
    reason = known_failure(scenario_name, litellm_version, invariant)
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    assert result.status == "pass", f"{invariant} failed\n{verdict.summary()}"
