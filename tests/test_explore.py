"""explore's signatures and groups, shrink's candidates, bisect's search: pure logic, no stack
(their real runs: benchmarks/explore_throughput.py, `chaos bisect` and the closing notes)."""

import json
from types import SimpleNamespace

import pytest

from chaos.scenarios.schedule import Schedule, Step
from chaos.search.bisection import BAD, FLAKY, GOOD, UNUSABLE, Tried, bisect, judge
from chaos.search.explore import group_runs, scenario_for, signature
from chaos.search.generate import Shape
from chaos.search.shrink import candidates, shrink

from .evidence_factory import make_evidence


def _verdict(failed, first_inv="recovery", cls="invalid_model", worker="worker-1", t=10.0, faults=("link_down(link=worker-1)",)):
    return {"failed_invariants": list(failed),
            "first_violation": [first_inv, {"worker": worker, "first": {"t": t, "cls": cls}, "faults_active": list(faults)}]}


def test_a_signature_names_the_failure_its_fault_and_the_workers_state():
    events = [{"t": 1.0, "kind": "worker_spawned", "worker": "worker-1"}, {"t": 5.0, "kind": "worker_ready", "worker": "worker-1"},
              {"t": 20.0, "kind": "worker_stopped", "worker": "worker-1"}]
    sig = signature(_verdict(["recovery", "readiness_truthful"]), events)
    assert sig == (("readiness_truthful", "recovery"), "recovery: invalid_model", ("link_down",), "ready")
    assert signature({"failed_invariants": [], "first_violation": None}, events)[1] is None
    # the harness's readiness probe saw 200 before the supervisor recorded worker_ready (at 5.0): a
    # ready-gated violation is at a ready worker by definition, whatever the event log says yet
    early = _verdict(["no_invalid_model_ready_gated"], "no_invalid_model_ready_gated", t=4.0)
    assert signature(early, events)[3] == "ready"
    assert signature(_verdict(["recovery"], t=4.0), events)[3] == "starting"


def test_failures_with_the_same_signature_are_one_group():
    sig_a, sig_b = list(signature(_verdict(["recovery"]), [])), list(signature(_verdict(["no_stall"], "no_stall", "timeout"), []))
    runs = [{"seed": s, "status": st, "signature": sig, "steps": n, "seconds": 10} for s, st, sig, n in
            [(1, "fail", sig_a, 3), (2, "pass", sig_a, 2), (3, "fail", sig_a, 2), (4, "fail", sig_b, 4)]]
    groups = group_runs(runs)
    assert [len(g.runs) for g in groups] == [2, 1] and groups[0].smallest["seed"] == 3


def test_a_generated_scenario_is_judged_by_every_contract_and_replayable():
    scenario = scenario_for(5, Shape(2)).validate()
    assert "recovery" in scenario.contract and "delete_propagates" in scenario.contract
    assert scenario.evidence_schedule(scenario.stack).to_json()["seed"] == 5


def test_shrink_candidates_drop_a_fault_with_its_heal_shorten_and_lose_a_replica():
    schedule = Schedule("x", [
        Step("a", apply={"kind": "toxic", "link": "worker-1", "type": "latency", "attributes": {"latency": 800}}),
        Step("b", apply={"kind": "worker_restart", "worker": "worker-1"}, delay_s=4),
        Step("heal-a", heal="a", delay_s=10),
    ], stack={"replicas": 3}).validate()
    found = {what: (s, n) for what, s, n in candidates(schedule, 3)}
    assert [st.id for st in found["drop step a"][0].steps] == ["b"]  # its heal went with it
    assert found["halve delay_s of step heal-a"][0].steps[2].delay_s == 5.0
    assert found["halve the latency of step a"][0].steps[0].apply["attributes"]["latency"] == 400
    assert found["2 replica(s)"][1] == 2
    assert "halve delay_s of step b" in found
    short = Schedule("y", [Step("a", apply={"kind": "worker_restart", "worker": "worker-1"}, delay_s=1.5)]).validate()
    assert not [what for what, _, _ in candidates(short, 2) if what.startswith("halve")]  # < 1 s saved: not worth a run
    for what, smaller, _ in candidates(schedule, 3):
        smaller.validate(what)  # every candidate is a valid schedule


def test_an_interrupted_shrink_keeps_the_smallest_failing_schedule_so_far(tmp_path):
    original = make_evidence(tmp_path / "original", workers=2, violations_at=(25.0,))
    schedule = Schedule("x", [Step("a", apply={"kind": "link_down", "link": "worker-1"}),
                              Step("b", apply={"kind": "worker_restart", "worker": "worker-1"}, delay_s=4),
                              Step("heal-a", heal="a", delay_s=10)], stack={"replicas": 2}).validate()
    schedule.save(original / "schedule.json")
    runs = []

    def make_run(scenario):  # every run fails the same way; the third is interrupted (Ctrl-C)
        runs.append(scenario.schedule)
        if len(runs) == 3:
            raise KeyboardInterrupt
        folder = make_evidence(tmp_path / f"run-{len(runs)}", workers=2, violations_at=(25.0,))
        return SimpleNamespace(evidence=folder, verdict=SimpleNamespace(durations={"total_s": 60.0}))

    with pytest.raises(KeyboardInterrupt):
        shrink(original, 1, make_run, out=tmp_path / "out", log=lambda m: None)
    result = json.loads((tmp_path / "out" / "shrink.json").read_text())
    assert result["interrupted"] and (result["before"]["steps"], result["after"]["steps"]) == (3, 1)
    kept = json.loads((tmp_path / "out" / "schedule.json").read_text())
    assert [step["id"] for step in kept["steps"]] == ["b"]  # run 2 dropped a with its heal, and still failed


def _outcomes(table):
    return lambda v: Tried(v, table[v], [{"good": "pass", "bad": "fail"}.get(table[v], "pass")])


def test_bisect_finds_the_first_release_where_the_outcome_changes():
    versions = [f"1.{i}" for i in range(10)]
    table = {v: GOOD if i < 6 else BAD for i, v in enumerate(versions)}
    first, tried, why = bisect(versions, _outcomes(table))
    assert first == "1.6" and "1.5" in why and len(tried) <= 6  # log2 steps, not every version


def test_bisect_says_when_the_ends_do_not_hold_or_a_version_is_flaky():
    versions = ["a", "b", "c", "d", "e"]
    first, _, why = bisect(versions, _outcomes(dict.fromkeys(versions, GOOD)))
    assert first is None and "do not hold" in why
    table = {"a": GOOD, "b": GOOD, "c": FLAKY, "d": BAD, "e": BAD}
    first, _, why = bisect(versions, _outcomes(table))
    assert first is None and "c is flaky" in why


def test_bisect_leaves_out_a_version_that_cannot_be_judged_and_names_it():
    versions = [f"1.{i}" for i in range(10)]
    table = {v: GOOD if i < 6 else BAD for i, v in enumerate(versions)} | {"1.4": UNUSABLE, "1.5": UNUSABLE}
    first, tried, why = bisect(versions, _outcomes(table))
    assert first == "1.6" and "came in one of 1.4, 1.5, 1.6: 1.3 is the last good release" in why
    assert "left out as unusable here: " in why and "1.4" in why.split("unusable here: ")[1]


def test_bisect_names_a_fix_when_good_is_the_newer_end():
    # the shape of S1's recovery between 1.106.2 (good) and 1.82.3 (bad) on this machine
    versions = ["1.106.2", "1.98.0", "1.97.0", "1.96.0", "1.94.3", "1.91.0", "1.82.3"]
    table = {"1.106.2": GOOD, "1.98.0": GOOD, "1.97.0": UNUSABLE, "1.96.0": UNUSABLE, "1.94.3": BAD, "1.91.0": BAD,
             "1.82.3": BAD}
    first, _, why = bisect(versions, _outcomes(table))
    assert first == "1.98.0"
    assert why.startswith("the change (a fix) came in one of 1.96.0, 1.97.0, 1.98.0: 1.94.3 is the last bad release")
    table |= {"1.97.0": GOOD, "1.96.0": BAD}
    first, _, why = bisect(versions, _outcomes(table))
    assert (first, why) == ("1.97.0", "1.97.0 is the first good release (a fix; the last bad one before it: 1.96.0)")


@pytest.mark.parametrize("statuses, expected", [(["pass", "pass"], GOOD), (["fail"], BAD), (["pass", "fail"], FLAKY),
                                                (["aborted"], UNUSABLE), (["aborted", "fail"], BAD),
                                                (["not_checked"], UNUSABLE)])
def test_judge(statuses, expected):
    assert judge(statuses) == expected
