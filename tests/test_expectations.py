"""scenarios/expectations.py names only what exists: a typo there would silently expect nothing."""

from chaos.scenarios import catalog
from chaos.litellm.versions import TESTED_LITELLM_VERSIONS
from scenarios.expectations import FAILS, FLAKY, KNOWN, expected_verdict


def test_every_expectation_names_a_scenario_a_tested_version_and_an_invariant_the_scenario_judges():
    for (name, version), invariants in KNOWN.items():
        scenario = catalog.get(name)
        assert version in TESTED_LITELLM_VERSIONS, (name, version)
        for inv, expected in invariants.items():
            assert inv in (*scenario.contract, *scenario.advisory), (name, version, inv)
            assert expected.kind in (FAILS, FLAKY) and expected.reason, (name, version, inv)


def test_the_verdict_follows_the_contract_invariants_only():
    assert expected_verdict("S1", "1.82.3") == FAILS
    assert expected_verdict("S5", "1.82.3") == "pass"
    flaky_contract = [(n, v) for (n, v), invs in KNOWN.items()
                      if {e.kind for i, e in invs.items() if i in catalog.get(n).contract} == {FLAKY}]
    assert all(expected_verdict(n, v) == FLAKY for n, v in flaky_contract)
    advisory_only = [(n, v) for (n, v), invs in KNOWN.items() if not set(invs) & set(catalog.get(n).contract)]
    assert all(expected_verdict(n, v) == "pass" for n, v in advisory_only)
