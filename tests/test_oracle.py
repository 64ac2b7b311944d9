"""The checkers are pure functions over a history: each must fire on a bad history and stay
quiet on a good one (an oracle that never fires is as broken as one that always fires)."""

import pytest

from chaos.oracle import invariants
from chaos.oracle.classify import classify
from chaos.oracle.context import ADVISORY, CONTRACT, FAIL, NOT_CHECKED, PASS, UNKNOWN, CheckContext
from chaos.oracle.invariants import CHECKERS, check_all
from chaos.oracle.ledger import ModelLedger
from chaos.oracle.verdict import verdict_of
from chaos.run.history import Op

W, M = ["w1", "w2"], ["m1", "m2"]
INVALID_BODY = '{"error":{"message":"/chat/completions: Invalid model name passed in model=m1. Call `/v1/models` to view available models for your key."}}'


class H:
    """Builds a history on a fake clock."""

    def __init__(self):
        self.ops, self.n = [], 0

    def add(self, t, f, worker, model=None, status=200, body="", error=None, value=None, latency=0.01, via=None, served_by=None):
        self.n += 1
        cls = classify(status if error is None else None, body, error)
        self.ops.append(Op(id=self.n, type="ok" if cls == "ok" else "fail", f=f, worker=worker, t0=t, t=t + latency,
                           model=model, status=None if error else status, cls=cls, error=error, value=value, via=via,
                           served_by=served_by))
        return self.ops[-1]

    def invalid(self, t, worker, model, **kw):
        return self.add(t, "chat", worker, model, 400, INVALID_BODY.replace("m1", model), **kw)

    def listing(self, t, worker, names, f="models"):
        return self.add(t, f, worker, value=sorted(names))

    def healthy(self, t0, t1, step=0.5, workers=W, models=M, listings=True, front_door=False, route=None):
        t = t0
        while t < t1:
            for w in workers:
                self.add(t, "readiness", w)
                for m in models:
                    self.add(t, "chat", w, m, value=route or "default")
                if listings:
                    self.listing(t + 0.1, w, models)
                    self.listing(t + 0.2, w, models, f="model_info_list")
            if front_door:
                for i, m in enumerate(models):
                    self.add(t + 0.05, "chat", "front-door", m, via="front_door", served_by=workers[i % len(workers)],
                             value=route or "default")
            t += step


def ctx(heal_t=20.0, end_t=60.0, db=("m1", "m2"), events=(), front_door=False, baseline=(0.0, 3.0)):
    return CheckContext(workers=W, models=M, events=list(events), heal_t=heal_t, end_t=end_t,
                        recovery_bound_s=10, propagation_bound_s=10, final_db_models=list(db) if db is not None else None,
                        baseline=baseline, front_door=front_door)


def results(h, c):
    return {r.name: r for r in check_all(h.ops, c)}


def status(h, c, name):
    return invariants.check_safe(name, h.ops, c).status


FAULT = [{"t": 29.0, "since": 28.5, "kind": "fault_applied", "step": "x", "fault": "link_down(link=w2)"},
         {"t": 35.0, "kind": "fault_healed", "step": "x", "fault": "link_down(link=w2)"}]


def test_all_quiet_on_a_healthy_history():
    h = H()
    h.healthy(0, 70, front_door=True)
    r = results(h, ctx(front_door=True))
    assert {n: x.status for n, x in r.items()} == {
        "no_invalid_model_strict": PASS, "no_invalid_model_ready_gated": PASS, "readiness_truthful": PASS,
        "client_invalid_model": PASS, "recovery": PASS, "read_after_create": NOT_CHECKED, "no_model_lost": PASS,
        "listing_consistent": PASS, "create_propagates": NOT_CHECKED, "delete_propagates": NOT_CHECKED,
        "update_propagates": NOT_CHECKED, "models_loaded_before_ready": NOT_CHECKED, "no_stall": PASS}
    assert verdict_of("t", list(r.values()), h.ops).status == "pass"


def test_one_invalid_model_fires_strict_and_names_the_pair():
    h = H()
    h.healthy(0, 70)
    h.invalid(30.0, "w2", "m2")
    r = results(h, ctx(events=FAULT))
    strict = r["no_invalid_model_strict"]
    assert strict.status == FAIL and len(strict.violations) == 1
    v = strict.violations[0]
    assert (v.worker, v.model, v.count) == ("w2", "m2", 1) and v.faults_active == ["link_down(link=w2)"]
    assert verdict_of("t", list(r.values()), h.ops).status == "fail"


def test_ready_gated_ignores_a_not_ready_worker():
    h = H()
    h.healthy(0, 20, workers=["w1"])
    for t in range(0, 20):
        h.add(t, "readiness", "w2", status=503)
        h.invalid(t + 0.1, "w2", "m1")
    r = results(h, ctx(heal_t=None))
    assert r["no_invalid_model_strict"].status == FAIL
    assert r["no_invalid_model_ready_gated"].status == PASS
    assert r["readiness_truthful"].status == PASS


def test_readiness_200_with_invalid_model_is_untruthful():
    h = H()
    for t in range(0, 20):
        h.add(t, "readiness", "w1")
        h.invalid(t + 0.1, "w1", "m1")
    r = results(h, ctx(heal_t=None))
    assert r["no_invalid_model_ready_gated"].status == FAIL
    assert r["readiness_truthful"].status == FAIL


def test_a_cut_connection_while_ready_is_not_a_readiness_lie():
    h = H()
    h.healthy(0, 20)
    h.add(10.0, "chat", "w1", "m1", error="ReadError")  # the worker is being killed
    assert results(h, ctx(heal_t=None))["readiness_truthful"].status == PASS
    h.add(11.0, "chat", "w1", "m1", 500, "Internal Server Error")
    assert results(h, ctx(heal_t=None))["readiness_truthful"].status == FAIL


def test_recovery_fires_when_a_pair_stays_broken_after_heal():
    h = H()
    h.healthy(0, 70, workers=["w1"])
    for t in range(0, 70):
        h.add(t, "readiness", "w2")
        h.invalid(t, "w2", "m1")
        if t < 10:
            h.add(t, "chat", "w2", "m2")
        else:
            h.invalid(t, "w2", "m2")
    r = results(h, ctx(heal_t=20.0, end_t=60.0))
    assert r["recovery"].status == FAIL
    assert {(v.worker, v.model) for v in r["recovery"].violations} == {("w2", "m1"), ("w2", "m2")}


def test_a_failed_recovery_says_whether_postgresql_saw_the_worker_reload():
    """The note names the evidence: a worker with no model-table read after the heal attempted
    no reload (stuck); one that read it and still failed reloaded in vain; no note without the log."""
    h = H()
    h.healthy(0, 70, workers=["w1"])
    for t in range(0, 70):
        h.add(t, "readiness", "w2")
        h.invalid(t, "w2", "m1")
        h.invalid(t, "w2", "m2")
    read = lambda t, w: {"kind": "model_table_read", "t": t, "worker": w}  # noqa: E731
    stuck = results(h, ctx(events=[read(5.0, "w2"), read(25.0, "w1")]))["recovery"]
    assert stuck.status == FAIL and "w2 never read the model table after the heal: no reload attempted" in stuck.note
    vain = results(h, ctx(events=[read(26.0, "w2"), read(31.0, "w2")]))["recovery"]
    assert "w2 read the model table 2 time(s) after the heal, first 6.0 s after it, and still failed" in vain.note
    assert "PostgreSQL" not in results(h, ctx())["recovery"].note
    h2 = H()
    h2.healthy(0, 70)
    assert results(h2, ctx(events=[read(5.0, "w2")]))["recovery"].note == ""  # passing: nothing to explain


def test_recovery_within_bound_passes_and_late_recovery_fails():
    for recovered_at, expected in ((25.0, PASS), (35.0, FAIL)):
        h = H()
        h.healthy(0, 70, workers=["w1"])
        for t in [x * 0.5 for x in range(140)]:
            if t < 10 or t >= recovered_at:
                h.add(t, "chat", "w2", "m1")
            else:
                h.invalid(t, "w2", "m1")
            h.add(t, "chat", "w2", "m2")
        assert results(h, ctx(heal_t=20.0, end_t=60.0))["recovery"].status == expected, recovered_at


def test_recovery_before_its_bound_is_decided_only_when_every_pair_recovered():
    h = H()
    h.healthy(0, 25)
    assert results(h, ctx(heal_t=20.0, end_t=25.0))["recovery"].status == PASS  # all back: decided early
    h.ops = [op for op in h.ops if not (op.worker == "w2" and op.model == "m2" and op.t0 >= 20)]
    h.invalid(21.0, "w2", "m2")
    assert results(h, ctx(heal_t=20.0, end_t=25.0))["recovery"].status == NOT_CHECKED  # could still recover in time


def test_read_after_create_both_directions():
    good, bad = H(), H()
    for h, found, served_at in ((good, True, 12.0), (bad, False, 40.0)):
        h.healthy(0, 70)
        h.add(10.0, "model_new", "w1", "new")
        h.add(10.1, "model_info", "w1", "new", value=found)
        for t in [10.2 + x * 0.5 for x in range(100)]:
            for w in W:
                if t >= served_at or w == "w1":
                    h.add(t, "chat", w, "new")
                else:
                    h.invalid(t, w, "new")
    assert results(good, ctx())["read_after_create"].status == PASS
    r = results(bad, ctx())["read_after_create"]
    assert r.status == FAIL
    assert {v.worker for v in r.violations} == {"w1", "w2"}  # w1: read-back miss; w2: too late


def test_read_after_create_through_the_front_door_judges_every_read_until_the_bound():
    for second_read, expected in ((True, PASS), (False, FAIL)):
        h = H()
        h.healthy(0, 40)
        h.add(10.0, "model_new", "front-door", "new", via="front_door", served_by="w1")
        h.add(10.1, "model_info", "front-door", "new", value=True, via="front_door", served_by="w1")
        h.add(11.1, "model_info", "front-door", "new", value=second_read, via="front_door", served_by="w2")
        h.add(30.0, "model_info", "front-door", "new", value=False, via="front_door", served_by="w2")  # after the bound
        for t in [10.2 + x * 0.5 for x in range(40)]:
            for w in W:
                h.add(t, "chat", w, "new")
        assert results(h, ctx())["read_after_create"].status == expected, second_read


def test_a_create_answered_with_an_error_fails_read_after_create_one_that_timed_out_is_unknown():
    h = H()
    h.healthy(0, 70)
    h.add(10.0, "model_new", "w1", "new", error="ReadTimeout")
    r = results(h, ctx())["read_after_create"]
    assert r.status == UNKNOWN and "timed out" in r.note  # it may have happened: not a failed create
    h.add(12.0, "model_new", "w1", "other", status=500, body="Internal Server Error")
    r = results(h, ctx())["read_after_create"]
    assert r.status == FAIL and r.violations[0].first["status"] == 500


def test_invalid_model_for_a_model_before_it_exists_is_not_a_violation():
    h = H()
    h.healthy(0, 70)
    h.invalid(5.0, "w1", "later")  # not valid yet: correct answer
    h.add(10.0, "model_new", "w1", "later")
    assert results(h, ctx())["no_invalid_model_strict"].status == PASS


def test_no_model_lost_fires_on_missing_db_row_and_on_final_failure():
    h = H()
    h.healthy(0, 65)
    assert results(h, ctx(db=("m1",)))["no_model_lost"].status == FAIL
    h.invalid(61.0, "w1", "m2")
    assert results(h, ctx())["no_model_lost"].status == FAIL
    assert results(h, ctx(db=None))["no_model_lost"].status == NOT_CHECKED
    failed_read = ctx(db=None)
    failed_read.final_db_error = "OperationalError: connection refused"
    r = results(h, failed_read)["no_model_lost"]
    assert r.status == FAIL and "connection refused" in r.note  # the DB did not answer at the end: a failure


def test_no_model_lost_does_not_look_for_config_models_in_the_db_but_wants_them_served():
    h = H()
    h.healthy(0, 65)
    from_config = ctx(db=("m1",))
    from_config.config_models = ["m2"]  # m2 is in the config file: never a DB row
    assert results(h, from_config)["no_model_lost"].status == PASS
    h.invalid(61.0, "w1", "m2")
    assert results(h, from_config)["no_model_lost"].status == FAIL


# ------------------------------------------------------------------ the front door
def test_client_invalid_model_fires_through_the_front_door_and_names_the_worker_that_answered():
    h = H()
    h.healthy(0, 40, front_door=True)
    assert status(h, ctx(front_door=True), "client_invalid_model") == PASS
    h.invalid(20.0, "front-door", "m1", via="front_door", served_by="w2")
    r = invariants.check_safe("client_invalid_model", h.ops, ctx(front_door=True))
    assert r.status == FAIL
    v = r.violations[0]
    assert (v.worker, v.model, v.via) == ("w2", "m1", "front_door")
    assert status(h, ctx(front_door=False), "client_invalid_model") == NOT_CHECKED
    # a direct 400 is not what the client of the front door saw
    h2 = H()
    h2.healthy(0, 40, front_door=True)
    h2.invalid(20.0, "w2", "m1")
    assert status(h2, ctx(front_door=True), "client_invalid_model") == PASS


# ------------------------------------------------------------------ listings
def test_listing_consistent_catches_a_flicker_on_a_ready_worker_in_a_quiet_period():
    h = H()
    h.healthy(0, 60)
    assert status(h, ctx(), "listing_consistent") == PASS
    h.listing(40.05, "w2", ["m1"])  # m2 gone from one poll
    r = invariants.check_safe("listing_consistent", h.ops, ctx())
    assert r.status == FAIL and (r.violations[0].worker, r.violations[0].model) == ("w2", "m2")
    assert r.violations[0].first["cls"] == "not_listed"


@pytest.mark.parametrize("why", ["during a fault", "within the recovery bound after it", "while not ready", "while a model changes"])
def test_listing_consistent_does_not_judge_unquiet_polls(why):
    h = H()
    h.healthy(0, 55)  # ends within the change's bound: m3 need not be listed yet
    events = []
    if why == "during a fault":
        events, t = FAULT, 30.0
    elif why == "within the recovery bound after it":
        events, t = FAULT, 44.0  # healed at 35, bound 10
    elif why == "while not ready":
        t = 50.1
        h.ops = [op for op in h.ops if not (op.f == "readiness" and op.worker == "w2" and 46 <= op.t0 <= 51)]
        h.add(50.0, "readiness", "w2", status=503)
    else:
        t = 50.0
        h.add(45.0, "model_new", "w1", "m3")
    h.listing(t, "w2", ["m1"])
    assert status(h, ctx(events=events), "listing_consistent") == PASS, why


def test_create_propagates_by_listing_both_directions():
    for listed_at, expected in ((15.0, PASS), (25.0, FAIL), (None, FAIL)):
        h = H()
        h.healthy(0, 60, listings=False)
        h.add(10.0, "model_new", "w1", "new")
        for t in [10.3 + x * 0.5 for x in range(90)]:
            h.listing(t, "w1", M + ["new"])
            h.listing(t, "w2", M + ["new"] if listed_at is not None and t >= listed_at else M)
        r = invariants.check_safe("create_propagates", h.ops, ctx())
        assert r.status == expected, listed_at
        if expected == FAIL:
            assert {v.worker for v in r.violations} == {"w2"}


def test_delete_propagates_both_directions_and_the_deleted_model_leaves_the_valid_set():
    for stops_at, expected in ((15.0, PASS), (25.0, FAIL)):
        h = H()
        h.healthy(0, 60, models=["m1"], listings=False)
        h.add(10.0, "model_delete", "w1", "m2", latency=0.2)
        for t in [x * 0.5 for x in range(120)]:
            h.add(t, "chat", "w1", "m2") if t < 10.0 else h.invalid(t, "w1", "m2")
            h.add(t, "chat", "w2", "m2") if t < stops_at else h.invalid(t, "w2", "m2")
            h.listing(t + 0.1, "w2", ["m1", "m2"] if t < stops_at else ["m1"])
        r = results(h, ctx())
        assert r["delete_propagates"].status == expected, stops_at
        assert r["no_invalid_model_strict"].status == PASS  # a 400 for a deleted model is correct
        assert r["no_model_lost"].status == PASS  # deleted on purpose
        assert r["listing_consistent"].status == PASS


def test_delete_propagates_at_once_on_the_worker_that_deleted_it():
    h = H()
    h.healthy(0, 40, models=["m1"])
    h.add(10.0, "model_delete", "w1", "m2")
    h.add(11.0, "chat", "w1", "m2")  # served after its own 200
    r = invariants.check_safe("delete_propagates", h.ops, ctx())
    assert r.status == FAIL and r.violations[0].worker == "w1"


def test_update_propagates_both_directions():
    for w2_route_from, expected in ((15.0, PASS), (25.0, FAIL)):
        h = H()
        h.healthy(0, 60, models=["m2"])
        h.add(10.0, "model_update", "w1", "m1", value="blue")
        for t in [x * 0.5 for x in range(120)]:
            h.add(t, "chat", "w1", "m1", value="blue" if t > 10.01 else "default")
            h.add(t, "chat", "w2", "m1", value="blue" if t >= w2_route_from else "default")
        r = invariants.check_safe("update_propagates", h.ops, ctx())
        assert r.status == expected, w2_route_from
        if expected == FAIL:
            assert r.violations[0].worker == "w2" and r.violations[0].first["cls"] == "old_parameters"


def test_models_loaded_before_ready_both_directions():
    def run(first_ok_at: float, listing_missing: bool = False, m1_chats: bool = True):
        h = H()
        h.healthy(0, 10)
        spawn = {"t": 12.0, "kind": "worker_spawned", "worker": "w1", "spawn": 2}
        h.add(14.0, "readiness", "w1", status=200)  # the first 200 after the spawn
        for t in (13.0, 14.5, 15.0, 16.0):
            if not m1_chats:
                pass
            elif t >= first_ok_at:
                h.add(t, "chat", "w1", "m1")
            else:
                h.invalid(t, "w1", "m1")
            h.add(t, "chat", "w1", "m2")
        if listing_missing:
            h.listing(14.6, "w1", ["m2"])
        return invariants.check_safe("models_loaded_before_ready", h.ops, ctx(events=[spawn]))

    assert run(first_ok_at=13.0).status == PASS  # served everything before (and after) readiness
    assert run(first_ok_at=15.5).status == FAIL  # ready at 14, m1 still unknown at 14.5 and 15
    assert run(first_ok_at=13.0, listing_missing=False).status == PASS
    r = run(first_ok_at=0, listing_missing=True)  # m1 served at 13 (before ready): a later listing is listing_consistent's
    assert r.status == PASS
    r = run(first_ok_at=0, listing_missing=True, m1_chats=False)  # only the listing shows m1 missing after ready
    assert r.status == FAIL and r.violations[0].first["f"] == "models"
    h = H()
    h.healthy(0, 10)
    assert invariants.check_safe("models_loaded_before_ready", h.ops, ctx()).status == NOT_CHECKED


def test_no_stall_both_directions():
    h = H()
    h.healthy(0, 60)
    assert status(h, ctx(events=FAULT), "no_stall") == PASS
    h.add(31.0, "chat", "w1", "m1", latency=2.0)  # during the fault: not judged
    assert status(h, ctx(events=FAULT), "no_stall") == PASS
    blind = [{"t": 44.0, "kind": "probe_stall", "worker": "w1", "seconds": 1.0}]
    h.add(44.2, "chat", "w1", "m1", latency=0.5)  # the harness was starved then
    assert status(h, ctx(events=FAULT + blind), "no_stall") == PASS
    h.add(50.0, "chat", "w2", "m2", error="ReadTimeout", latency=5.0)  # hung, healthy DB
    r = invariants.check_safe("no_stall", h.ops, ctx(events=FAULT + blind))
    assert r.status == FAIL and r.violations[0].worker == "w2" and "1000 ms (no unloaded reference" in r.description


def test_no_stall_takes_its_bound_from_an_unloaded_reference_and_is_unknown_under_pressure():
    h = H()
    h.healthy(0, 60)
    h.add(40.0, "chat", "w1", "m1", latency=0.6)
    c = ctx()
    assert status(h, c, "no_stall") == PASS  # under the 1 s bound used before any calibration
    c.stall_reference_s = 0.05  # calibrated: 10 x 50 ms = 500 ms, but never under the 1 s floor
    assert status(h, c, "no_stall") == PASS
    h.ops.pop()
    h.add(40.0, "chat", "w1", "m1", latency=2.5)
    c.stall_reference_s = 0.2  # calibrated: 10 x 200 ms = 2 s
    r = invariants.check_safe("no_stall", h.ops, c)
    assert r.status == FAIL and "unloaded p99 200 ms" in r.description
    c.high_pressure = [(39.5, 41.0)]  # the CPU was saturated then: not judged there
    assert status(h, c, "no_stall") == PASS
    c.high_pressure = [(5.0, 30.0)]  # saturated for 25 of 60 s (over a quarter): cannot say
    r = invariants.check_safe("no_stall", h.ops, c)
    assert r.status == FAIL  # the slow chat at 40 s is outside the pressure: still a stall
    h.ops.pop()
    r = invariants.check_safe("no_stall", h.ops, c)
    assert r.status == UNKNOWN and "pressure high for 25 s of the 60 s outside faults" in r.note
    c.high_pressure = [(20.0, 36.0)]  # 16 of 60 s saturated: over a quarter ...
    assert invariants.check_safe("no_stall", h.ops, c).status == UNKNOWN
    c.events = FAULT  # ... but most of it during an outage (28.5-35 s), where no chat is judged anyway
    r = invariants.check_safe("no_stall", h.ops, c)
    assert r.status == PASS and "pressure high for 10 s of the 54 s outside faults" in r.note


# ------------------------------------------------------------------ roles and check-safe
def test_a_checker_that_raises_is_unknown_and_a_contract_unknown_aborts(monkeypatch):
    def broken(ops, ctx):
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(CHECKERS, "recovery", broken)
    h = H()
    h.healthy(0, 40)
    res = check_all(h.ops, ctx(), contract=["no_invalid_model_strict", "recovery"], advisory=[])
    rec = next(r for r in res if r.name == "recovery")
    assert rec.status == UNKNOWN and "ZeroDivisionError: boom" in rec.error
    v = verdict_of("t", res, h.ops)
    assert v.status == "aborted" and "recovery" in v.reason
    assert v.to_json()["invariants"][1]["error"]  # the error is in verdict.json
    res = check_all(h.ops, ctx(), contract=["no_invalid_model_strict"], advisory=["recovery"])
    assert verdict_of("t", res, h.ops).status == "pass"


def test_advisory_failures_are_reported_but_do_not_fail_the_verdict():
    h = H()
    h.healthy(0, 40)
    for t in range(5, 10):
        h.add(t, "readiness", "w2", status=503)
    h.ops = [op for op in h.ops if not (op.f == "readiness" and op.worker == "w2" and 5 <= op.t0 < 10 and op.status == 200)]
    h.invalid(7.1, "w2", "m1")  # not ready: strict only
    res = check_all(h.ops, ctx(), contract=["no_invalid_model_ready_gated"], advisory=["no_invalid_model_strict"])
    assert [(r.name, r.role, r.status) for r in res] == [("no_invalid_model_ready_gated", CONTRACT, PASS),
                                                         ("no_invalid_model_strict", ADVISORY, FAIL)]
    v = verdict_of("t", res, h.ops)
    assert v.status == "pass" and v.failed == [] and v.advisory_failed == ["no_invalid_model_strict"]
    assert v.first_violation()[0] == "no_invalid_model_strict"  # still shown


def test_ledger_an_answer_overlapping_a_delete_is_judged_neither_way():
    h = H()
    delete = h.add(10.0, "model_delete", "w1", "m1", latency=1.0)
    ledger = ModelLedger.of(h.ops, ["m1"])
    assert ledger.valid("m1", 5.0, 9.9)
    assert not ledger.valid("m1", 9.5, 10.5)  # overlaps the delete
    assert not ledger.valid("m1", 12.0, 12.1)
    assert ledger.deletes["m1"] is delete
    h.add(20.0, "model_new", "w1", "m9", error="ReadTimeout")
    assert not ModelLedger.of(h.ops, ["m1"]).valid("m9", 25.0, 25.1)  # unknown outcome: never judged


@pytest.mark.parametrize("status, body, error, expected", [
    (200, "{}", None, "ok"),
    (400, INVALID_BODY, None, "invalid_model"),
    (400, "litellm.BadRequestError: There is no 'model_name' with this string ", None, "invalid_model"),
    (400, "There are no healthy deployments for this model", None, "invalid_model"),
    (500, '{"error": {"message": "No connected db."}}', None, "db_unavailable"),
    (503, '{"error": "Not connected to DB!"}', None, "db_unavailable"),
    (503, "litellm.ServiceUnavailableError: OpenAIException - upstream failure injected by litellm-chaos", None, "upstream_error"),
    (503, "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>", None,
     "no_ready_worker"),
    (None, "", "ConnectError", "worker_down"),
    (None, "", "ReadTimeout", "timeout"),
    (None, "", "RemoteProtocolError", "other"),
    (400, "Invalid model name passed in model=x", None, "invalid_model"),
    (401, "Authentication Error", None, "other"),
])
def test_classify(status, body, error, expected):
    assert classify(status, body, error) == expected


# ------------------------------------------------------------------ early decisions
def test_recovery_is_decided_when_every_pair_is_back_or_at_its_bound():
    from chaos.oracle.invariants import decided_by

    h = H()
    h.healthy(0, 30)
    t, why = decided_by("recovery", h.ops, ctx(heal_t=20.0, end_t=30.0))
    assert 20.0 < t < 21.0 and "every pair" in why  # back at the first probe after heal
    stuck = H()
    stuck.healthy(0, 30, workers=["w1"])
    for t0 in range(20, 30):
        stuck.invalid(t0, "w2", "m1")
    t, why = decided_by("recovery", stuck.ops, ctx(heal_t=20.0, end_t=30.0))
    assert t == 30.0 and "bound" in why  # heal + 10 s bound


def test_propagation_and_listing_decisions_wait_for_their_bounds():
    from chaos.oracle.invariants import decided_by

    h = H()
    h.healthy(0, 30)
    h.add(12.0, "model_delete", "w1", "m2")
    c = ctx(heal_t=20.0, end_t=25.0)
    assert decided_by("delete_propagates", h.ops, c)[0] == pytest.approx(22.01)  # the delete's 200 + 10 s
    assert decided_by("update_propagates", h.ops, c)[0] == 20.0  # no update: nothing to wait for
    assert decided_by("listing_consistent", h.ops, c)[0] == 32.0  # heal + recovery bound + 2 s of quiet polls
    assert decided_by("no_invalid_model_strict", h.ops, c)[0] == 20.0


@pytest.mark.parametrize("error", ["RemoteProtocolError", "ReadError"])
def test_a_reset_without_an_answer_behind_a_port_proxy_is_a_worker_down_as_a_refused_connection_is(error):
    # compose: docker-proxy accepts and resets while the worker does not listen; locally the same
    # worker refuses the connection. Same condition, same class.
    assert classify(None, "", error, reset_is_refused=True) == classify(None, "", "ConnectError") == "worker_down"
    assert classify(None, "", error) == "other"  # a local reset is a live process dropping the request: unknown
    assert classify(None, "", "ReadTimeout", reset_is_refused=True) == "timeout"
