"""Coverage and unknown outcomes: an invariant that held where the run was blind, or that needed a
definite answer and got only timeouts, is unknown and the verdict inconclusive; a run that saw
everything still passes, and a definite failure still fails (both directions)."""

from chaos.oracle import invariants
from chaos.oracle.context import FAIL, PASS, UNKNOWN
from chaos.oracle.coverage import Plan, blind_stretches, decide_coverage, merge, subtract
from chaos.oracle.invariants import check_all
from chaos.oracle.verdict import EXIT_CODES, verdict_of
from chaos.run.runner import baseline_limit_s, steady_state_deviation

from .test_oracle import H, M, W, ctx

PLAN = Plan(chat_pair_s=0.5, listing_s=0.25)  # H.healthy probes every pair every 0.5 s


def test_blind_stretches_are_gaps_beyond_the_planned_interval():
    assert blind_stretches([0.0, 0.5, 1.0], (0.0, 1.0), 0.5) == []
    assert blind_stretches([0.0, 0.5, 3.5, 4.0], (0.0, 4.0), 0.5) == [(1.0, 3.5)]  # 3 s gap: 2.5 s blind
    assert blind_stretches([], (0.0, 2.0), 0.5) == [(0.5, 2.0)]  # never observed
    assert merge([(0, 2), (1, 3), (5, 6)]) == [(0, 3), (5, 6)]
    assert subtract((0, 10), [(2, 3), (8, 12)]) == [(0, 2), (3, 8)]


def test_load_shedding_down_to_its_floor_is_not_blindness():
    h = H()
    h.healthy(0, 70, step=1.2)  # every pair every 1.2 s: the 0.5 s plan at 40 %, shed under pressure
    c = ctx()
    c.plan = PLAN
    assert invariants.check_safe("no_invalid_model_strict", h.ops, c).status == PASS


def test_a_fully_observed_run_passes_with_its_coverage_recorded():
    h = H()
    h.healthy(0, 70)
    c = ctx()
    c.plan = PLAN
    res = {r.name: r for r in check_all(h.ops, c)}
    assert res["no_invalid_model_strict"].status == PASS
    cov = res["no_invalid_model_strict"].coverage
    assert cov["blind_s"] == 0 and cov["judged_s"] == 60.0 and cov["longest_blind_s"] == 0
    assert verdict_of("t", list(res.values()), h.ops).status == "pass"


def test_an_invariant_blind_for_part_of_its_window_is_unknown_and_the_run_inconclusive():
    h = H()
    h.healthy(0, 25)
    h.healthy(35, 70)  # 10 s with no probe at all: the harness was starved
    c = ctx()
    c.plan = PLAN
    r = invariants.check_safe("no_invalid_model_strict", h.ops, c)
    assert r.status == UNKNOWN and "blind for" in r.note and r.coverage["longest_blind_s"] == 9.0
    v = verdict_of("t", [r], h.ops)
    assert v.status == "inconclusive" and v.exit_code == EXIT_CODES["inconclusive"] == 5
    assert "no_invalid_model_strict" in v.reason
    # the claim: each pair every 0.5 s, 0.2 s at the lowest load shedding goes to, + 0.25 s of slack
    assert r.coverage["catch_window_s"] == PLAN.catch_window_s() == 1.5
    c.max_blind_share = 0.5  # 15 % blind is allowed now, but a 9 s stretch still exceeds the 1.5 s claimed window
    r = invariants.check_safe("no_invalid_model_strict", h.ops, c)
    assert r.status == UNKNOWN and "longer than the 1.5 s window" in r.note and "the harness lagged" in r.note
    h.invalid(40.0, "w1", "m1")  # a definite violation is a failure whatever the coverage
    assert invariants.check_safe("no_invalid_model_strict", h.ops, c).status == FAIL


def test_timeouts_only_are_not_answers_and_a_paused_worker_is_not_blindness():
    h = H()
    h.healthy(0, 20)
    for i in range(40):  # w1 times out on everything from 20 s on
        h.add(20 + i * 0.5, "chat", "w1", "m1", error="ReadTimeout", latency=5.0)
    h.healthy(20, 40, workers=["w2"])
    c = ctx(heal_t=None, end_t=40.0)
    c.plan = PLAN
    r = invariants.check_safe("no_invalid_model_strict", h.ops, c)
    assert r.status == UNKNOWN  # the timeouts observed nothing
    c.events = [{"t": 20.0, "kind": "worker_paused", "worker": "w1"}, {"t": 40.0, "kind": "worker_resumed", "worker": "w1"}]
    assert invariants.check_safe("no_invalid_model_strict", h.ops, c).status == PASS  # paused by the schedule: not judged
    assert decide_coverage(None, 0.05) is None


def test_a_blind_stretch_says_whether_the_gateway_or_the_harness_left_it_unseen():
    h = H()
    h.healthy(0, 30)
    h.healthy(34, 70)
    h.healthy(30, 34, workers=["w2"])
    h.healthy(30, 34, workers=["w1"], models=["m2"])
    for i in range(8):  # w1/m1 probed on plan from 30 to 34 s, every chat timed out: the gateway hung
        h.add(30 + i * 0.5, "chat", "w1", "m1", error="ReadTimeout", latency=5.0)
    c = ctx()
    c.plan = PLAN
    c.max_blind_share = 0.5
    r = invariants.check_safe("no_invalid_model_strict", h.ops, c)
    assert r.status == UNKNOWN and r.coverage["longest_blind_lane"] == "w1/m1"
    assert "8 probe(s) sent in it got no answer" in r.note and "the gateway did not answer" in r.note
    h.ops = [op for op in h.ops if op.cls != "timeout"]  # the same gap with nothing sent: the harness's
    r = invariants.check_safe("no_invalid_model_strict", h.ops, c)
    assert r.status == UNKNOWN and "no probe was sent in it: the harness lagged" in r.note


def test_recovery_fails_on_definite_answers_and_is_unknown_on_timeouts_only():
    h = H()
    h.healthy(0, 20)
    h.healthy(20, 60, workers=["w2"])
    stuck = H()
    stuck.ops = list(h.ops)
    for i in range(60):
        stuck.invalid(20 + i * 0.5, "w1", "m1")
        stuck.invalid(20 + i * 0.5, "w1", "m2")
    assert invariants.check_safe("recovery", stuck.ops, ctx()).status == FAIL
    silent = H()
    silent.ops = list(h.ops)
    for i in range(60):
        silent.add(20 + i * 0.5, "chat", "w1", "m1", error="ReadTimeout", latency=5.0)
        silent.add(20 + i * 0.5, "chat", "w1", "m2", error="ReadTimeout", latency=5.0)
    r = invariants.check_safe("recovery", silent.ops, ctx())
    assert r.status == UNKNOWN and "timeouts only" in r.note and "w1/m1" in r.note


def test_recovery_with_sparse_probes_fails_only_when_seen_failing_past_the_bound():
    h = H()
    h.healthy(0, 20)
    h.healthy(20, 60, workers=["w2"])
    h.invalid(22.0, "w1", "m1")  # failing before the bound (heal 20, bound 10) ...
    h.invalid(22.0, "w1", "m2")
    h.add(36.0, "chat", "w1", "m1")  # ... ok after it: when did it come back? not seen
    h.add(36.0, "chat", "w1", "m2")
    r = invariants.check_safe("recovery", h.ops, ctx())
    assert r.status == UNKNOWN and "no probe between a failure and a late success" in r.note
    h.invalid(31.0, "w1", "m1")  # seen failing past the bound: proven late
    assert invariants.check_safe("recovery", h.ops, ctx()).status == FAIL


def test_no_model_lost_asks_for_a_definite_final_answer():
    h = H()
    h.healthy(0, 60)
    for w in ("w1", "w2"):
        for m in ("m1", "m2"):
            h.add(60.5, "chat", w, m) if (w, m) != ("w1", "m2") else h.add(60.5, "chat", w, m, error="ReadTimeout")
    r = invariants.check_safe("no_model_lost", h.ops, ctx())
    assert r.status == UNKNOWN and "w1/m2" in r.note  # a timeout is not a lost model
    h.add(66.0, "chat", "w1", "m2")  # asked again: served
    assert invariants.check_safe("no_model_lost", h.ops, ctx()).status == PASS
    h.invalid(67.0, "w1", "m1")
    assert invariants.check_safe("no_model_lost", h.ops, ctx()).status == FAIL


def test_the_steady_state_is_the_gateways_to_keep():
    h = H()
    h.healthy(0, 5)
    workers = {"w1": "", "w2": ""}
    assert steady_state_deviation(h.ops, 0.0, workers, ["m1", "m2"]) is None
    h.invalid(4.0, "w2", "m1")
    d = steady_state_deviation(h.ops, 0.0, workers, ["m1", "m2"])
    assert d["worker"] == "w2" and "Invalid model name" in d["why"]
    short = H()
    short.healthy(0, 5)
    short.listing(5.5, "w1", ["m1"])  # w1's latest listing lacks m2
    d = steady_state_deviation(short.ops, 0.0, workers, ["m1", "m2"])
    assert d["worker"] == "w1" and "m2" in d["why"]


def test_the_baseline_bound_grows_with_the_pairs_and_falls_with_the_rate():
    assert baseline_limit_s(3.0, 3, 30.0) == 10.3
    assert baseline_limit_s(3.0, 140, 10.0) == 52.0
    assert baseline_limit_s(3.0, 140, 0.0) == 300.0
    assert baseline_limit_s(60.0, 3, 30.0) == 60.0


def test_invalid_model_at_stack_start_is_the_gateways_failure_not_the_harness():
    import httpx
    import pytest

    from chaos.errors import StackStartError, SteadyStateDeviated
    from chaos.stack.components import seed

    class Answers:  # a LiteLLMClient whose workers answer as `answer(url)` says
        def __init__(self, answer):
            self.chat = lambda url, model: answer(url)

    invalid_on_w2 = Answers(lambda url: httpx.Response(400, text='{"error":{"message":"Invalid model name passed in model=m1"}}')
                            if url == "w2" else httpx.Response(200, text="{}"))
    with pytest.raises(SteadyStateDeviated, match="w2 answered 'Invalid model name' for the valid model 'm1'"):
        seed.verify_everywhere(invalid_on_w2, {"w1": "w1", "w2": "w2"}, ["m1"], timeout=0.3)
    assert SteadyStateDeviated.exit_code == 1

    not_ready = Answers(lambda url: httpx.Response(503, text="not ready"))
    with pytest.raises(StackStartError) as err:  # not served, but nothing wrong said: the start failed
        seed.verify_everywhere(not_ready, {"w1": "w1"}, ["m1"], timeout=0.3)
    assert not isinstance(err.value, SteadyStateDeviated)


def test_blind_share_is_of_lane_seconds_and_a_starting_worker_is_not_blindness():
    h = H()
    models = [f"m{i}" for i in range(20)]
    c = ctx(heal_t=None, end_t=100.0)
    c.models = models
    c.workers = ["w1"]
    c.plan = Plan(chat_pair_s=0.5, listing_s=None)
    for i, m in enumerate(models):  # every pair misses 2 s, each at another moment: the union covers 20 s
        for k in range(200):
            t = k * 0.5
            if not (10 + 3 * i <= t < 12 + 3 * i):
                h.add(t, "chat", "w1", m)
    r = invariants.check_safe("no_invalid_model_strict", h.ops, c)
    assert r.coverage["blind_s"] == 20.0 and r.coverage["blind_share"] == 0.01 and r.status == PASS
    gap = H()
    for m in models:
        for k in range(200):
            if not (40 <= k * 0.5 < 70):  # nothing answers for 30 s ...
                gap.add(k * 0.5, "chat", "w1", m)
    assert invariants.check_safe("no_invalid_model_strict", gap.ops, c).status == UNKNOWN
    c.events = [{"t": 39.9, "kind": "worker_spawned", "worker": "w1"}, {"t": 70.0, "kind": "worker_live", "worker": "w1"}]
    assert invariants.check_safe("no_invalid_model_strict", gap.ops, c).status == PASS  # ... because it was restarting


def _blind_on_w1(ready_status: int) -> H:
    """10 s (25-35) in which worker-1's chats went unanswered (timeouts: nothing seen) while its
    readiness said `ready_status`; everything else seen."""
    h = H()
    h.healthy(0, 25)
    h.healthy(25, 35, workers=W[1:])
    t = 25.0
    while t < 35:
        h.add(t, "readiness", W[0], status=ready_status)
        for m in M:
            h.add(t, "chat", W[0], m, error="ReadTimeout")
        t += 0.5
    h.healthy(35, 70)
    return h


def test_blindness_while_a_worker_is_not_ready_does_not_blind_the_ready_gated_invariants():
    c = ctx(heal_t=None)
    c.plan = PLAN
    h = _blind_on_w1(ready_status=503)
    assert invariants.check_safe("no_invalid_model_strict", h.ops, c).status == UNKNOWN  # it judges every moment
    for name in ("no_invalid_model_ready_gated", "readiness_truthful"):  # no violation possible while not ready
        assert invariants.check_safe(name, h.ops, c).status == PASS, name


def test_blindness_while_a_worker_says_ready_still_blinds_the_ready_gated_invariants():
    c = ctx(heal_t=None)
    c.plan = PLAN
    h = _blind_on_w1(ready_status=200)
    for name in ("no_invalid_model_ready_gated", "readiness_truthful"):
        r = invariants.check_safe(name, h.ops, c)
        assert r.status == UNKNOWN and r.coverage["longest_blind_lane"].startswith(f"{W[0]}/"), name


def test_a_pair_that_recovered_in_time_is_proven_whatever_went_unseen_before():
    c = ctx(heal_t=20.0, end_t=60.0)  # recovery bound 10 s
    c.plan = PLAN
    h = H()
    h.healthy(0, 20)
    h.healthy(27, 70)  # nothing seen for 7 s after heal, then every pair succeeds: within the bound
    assert invariants.check_safe("recovery", h.ops, c).status == PASS
    late = H()
    late.healthy(0, 20)
    late.healthy(33, 70)  # the first success after the bound: not proven, and not seen failing either
    assert invariants.check_safe("recovery", late.ops, c).status != PASS


def test_ready_spans_are_exactly_where_ready_at_holds():
    from chaos.oracle.context import ReadinessIndex

    h = H()
    for t, status in ((0.0, 200), (0.5, 200), (3.0, 503), (3.2, 200), (4.0, 200), (9.0, 200)):
        h.add(t, "readiness", W[0], status=status)
    index = ReadinessIndex(h.ops)
    spans = index.ready_spans(W[0], 2.0)
    for i in range(0, 130):
        t = i * 0.1 + 0.005
        assert index.ready_at(W[0], t, 2.0) == any(a <= t <= b for a, b in spans), t
