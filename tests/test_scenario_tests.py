"""scenarios/test_scenarios.py's own rules, on verdicts made up for the purpose (no stack): an
invariant the run could not judge (`unknown`) is never taken for an expected failure."""

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

# the verdict every scenario "ran" to: the invariant under test has STATUS, the others held
CONFTEST = '''
import pytest
from chaos.oracle.context import InvariantResult
from chaos.oracle.verdict import Verdict

STATUS = {status!r}


class FakeRun:
    def __init__(self, name):
        from chaos.scenarios import catalog
        scenario = catalog.get(name)
        invariants = [InvariantResult(inv, "", STATUS if inv == {invariant!r} else "pass", note="made up")
                      for inv in (*scenario.contract, *scenario.advisory)]
        self.verdict = Verdict("fail" if STATUS == "fail" else "pass", name, invariants=invariants)
        self.verdict_block = "(verdict block)"


@pytest.fixture(scope="session")
def chaos_runs():
    return lambda name, version: FakeRun(name)
'''


def outcome(pytester, scenario: str, invariant: str, status: str, version: str) -> dict:
    shutil.copytree(SCENARIOS, pytester.path / "scenarios", ignore=shutil.ignore_patterns("__pycache__"))
    (pytester.path / "scenarios" / "conftest.py").write_text(CONFTEST.format(status=status, invariant=invariant))
    # in a subprocess: the suite running this has imported the real `scenarios` package already
    result = pytester.runpytest_subprocess("-m", "chaos", "-k", f"test_invariant and {scenario}-{invariant}-",
                                "--chaos-litellm", version, "-p", "no:cacheprovider", "scenarios")
    return {k: n for k, n in result.parseoutcomes().items() if k != "deselected"}


@pytest.mark.parametrize("status, expected", [("unknown", {"failed": 1}), ("fail", {"xfailed": 1})])
def test_an_unknown_contract_invariant_is_not_its_expected_failure(pytester, status, expected):
    # recovery always fails in S1 on 1.82.3 (expectations.py): a strict xfail, but only when seen failing
    assert outcome(pytester, "S1", "recovery", status, "1.82.3") == expected


@pytest.mark.parametrize("status, expected", [("unknown", {"skipped": 1}), ("pass", {"passed": 1}),
                                              ("fail", {"failed": 1})])
def test_an_unknown_advisory_invariant_is_skipped_with_its_reason(pytester, status, expected):
    assert outcome(pytester, "S5", "no_stall", status, "1.108.7") == expected
