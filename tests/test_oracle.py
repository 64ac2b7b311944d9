"""The checkers are pure functions over a history: each must fire on a bad history and stay
quiet on a good one (an oracle that never fires is as broken as one that always fires)."""

import pytest

from chaos.history import Op
from chaos.oracle.checkers import FAIL, NOT_CHECKED, PASS, CheckContext, check_all
from chaos.oracle.classify import classify
from chaos.oracle.verdict import verdict_of

W, M = ["w1", "w2"], ["m1", "m2"]
INVALID_BODY = '{"error":{"message":"/chat/completions: Invalid model name passed in model=m1. Call `/v1/models` to view available models for your key."}}'


class H:
    """Builds a history on a fake clock."""

    def __init__(self):
        self.ops, self.n = [], 0

    def add(self, t, f, worker, model=None, status=200, body="", error=None, value=None):
        self.n += 1
        cls = classify(status if error is None else None, body, error)
        self.ops.append(Op(id=self.n, type="ok" if cls == "ok" else "fail", f=f, worker=worker, t0=t, t=t + 0.01,
                           model=model, status=None if error else status, cls=cls, error=error, value=value))

    def healthy(self, t0, t1, step=0.5, workers=W, models=M):
        t = t0
        while t < t1:
            for w in workers:
                self.add(t, "readiness", w)
                for m in models:
                    self.add(t, "chat", w, m)
            t += step


def ctx(heal_t=20.0, end_t=60.0, db=("m1", "m2"), events=()):
    return CheckContext(workers=W, models=M, events=list(events), heal_t=heal_t, end_t=end_t,
                        recovery_bound_s=10, propagation_bound_s=10, final_db_models=list(db) if db is not None else None)


def results(h, c):
    return {r.name: r for r in check_all(h.ops, c)}


def test_all_quiet_on_a_healthy_history():
    h = H()
    h.healthy(0, 70)
    r = results(h, ctx())
    assert {n: x.status for n, x in r.items()} == {
        "no_invalid_model_strict": PASS, "no_invalid_model_ready_gated": PASS, "readiness_truthful": PASS,
        "recovery": PASS, "read_after_create": NOT_CHECKED, "no_model_lost": PASS}
    assert verdict_of("t", list(r.values()), h.ops).status == "pass"


def test_one_invalid_model_fires_strict_and_names_the_pair():
    h = H()
    h.healthy(0, 70)
    h.add(30.0, "chat", "w2", "m2", 400, INVALID_BODY)
    r = results(h, ctx(events=[{"t": 29.0, "kind": "fault_applied", "step": "x", "fault": "link_down(link=w2)"}]))
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
        h.add(t + 0.1, "chat", "w2", "m1", 400, INVALID_BODY)
    r = results(h, ctx(heal_t=None))
    assert r["no_invalid_model_strict"].status == FAIL
    assert r["no_invalid_model_ready_gated"].status == PASS
    assert r["readiness_truthful"].status == PASS


def test_readiness_200_with_invalid_model_is_untruthful():
    h = H()
    for t in range(0, 20):
        h.add(t, "readiness", "w1")
        h.add(t + 0.1, "chat", "w1", "m1", 400, INVALID_BODY)
    r = results(h, ctx(heal_t=None))
    assert r["no_invalid_model_ready_gated"].status == FAIL
    assert r["readiness_truthful"].status == FAIL


def test_a_cut_connection_while_ready_is_not_a_readiness_lie():
    h = H()
    h.healthy(0, 20)
    h.add(10.0, "chat", "w1", "m1", error="ReadError")  # the worker is being killed
    r = results(h, ctx(heal_t=None))
    assert r["readiness_truthful"].status == PASS
    h.add(11.0, "chat", "w1", "m1", 500, "Internal Server Error")
    assert results(h, ctx(heal_t=None))["readiness_truthful"].status == FAIL


def test_recovery_fires_when_a_pair_stays_broken_after_heal():
    h = H()
    h.healthy(0, 70, workers=["w1"])
    for t in range(0, 70):
        h.add(t, "readiness", "w2")
        h.add(t, "chat", "w2", "m1", 400, INVALID_BODY)
        h.add(t, "chat", "w2", "m2", 200 if t < 10 else 400, INVALID_BODY if t >= 10 else "")
    r = results(h, ctx(heal_t=20.0, end_t=60.0))
    assert r["recovery"].status == FAIL
    assert {(v.worker, v.model) for v in r["recovery"].violations} == {("w2", "m1"), ("w2", "m2")}


def test_recovery_within_bound_passes_and_late_recovery_fails():
    for recovered_at, expected in ((25.0, PASS), (35.0, FAIL)):
        h = H()
        h.healthy(0, 70, workers=["w1"])
        for t in [x * 0.5 for x in range(140)]:
            ok = t < 10 or t >= recovered_at
            h.add(t, "chat", "w2", "m1", 200 if ok else 400, "" if ok else INVALID_BODY)
            h.add(t, "chat", "w2", "m2")
        assert results(h, ctx(heal_t=20.0, end_t=60.0))["recovery"].status == expected, recovered_at


def test_recovery_not_checked_when_run_too_short():
    h = H()
    h.healthy(0, 25)
    assert results(h, ctx(heal_t=20.0, end_t=25.0))["recovery"].status == NOT_CHECKED


def test_read_after_create_both_directions():
    good, bad = H(), H()
    for h, found, served_at in ((good, True, 12.0), (bad, False, 40.0)):
        h.healthy(0, 70)
        h.add(10.0, "model_new", "w1", "new")
        h.add(10.1, "model_info", "w1", "new", value=found)
        for t in [10.2 + x * 0.5 for x in range(100)]:
            for w in W:
                ok = t >= served_at or w == "w1"
                h.add(t, "chat", w, "new", 200 if ok else 400, "" if ok else INVALID_BODY.replace("m1", "new"))
    assert results(good, ctx())["read_after_create"].status == PASS
    r = results(bad, ctx())["read_after_create"]
    assert r.status == FAIL
    assert {v.worker for v in r.violations} == {"w1", "w2"}  # w1: read-back miss; w2: too late


def test_a_create_that_never_returns_200_fails_read_after_create():
    h = H()
    h.healthy(0, 70)
    h.add(10.0, "model_new", "w1", "new", error="ReadTimeout")
    r = results(h, ctx())["read_after_create"]
    assert r.status == FAIL and r.violations[0].first["cls"] == "timeout"


def test_invalid_model_for_a_model_before_it_exists_is_not_a_violation():
    h = H()
    h.healthy(0, 70)
    h.add(5.0, "chat", "w1", "later", 400, INVALID_BODY)  # not valid yet: correct answer
    h.add(10.0, "model_new", "w1", "later")
    assert results(h, ctx())["no_invalid_model_strict"].status == PASS


def test_no_model_lost_fires_on_missing_db_row_and_on_final_failure():
    h = H()
    h.healthy(0, 65)
    assert results(h, ctx(db=("m1",)))["no_model_lost"].status == FAIL
    h.add(61.0, "chat", "w1", "m2", 400, INVALID_BODY)
    assert results(h, ctx())["no_model_lost"].status == FAIL
    assert results(h, ctx(db=None))["no_model_lost"].status == NOT_CHECKED


@pytest.mark.parametrize("status, body, error, expected", [
    (200, "{}", None, "ok"),
    (400, INVALID_BODY, None, "invalid_model"),
    (400, "litellm.BadRequestError: There is no 'model_name' with this string ", None, "invalid_model"),
    (400, "There are no healthy deployments for this model", None, "invalid_model"),
    (500, '{"error": {"message": "No connected db."}}', None, "db_unavailable"),
    (503, '{"error": "Not connected to DB!"}', None, "db_unavailable"),
    (503, "litellm.ServiceUnavailableError: OpenAIException - upstream failure injected by litellm-chaos", None, "upstream_error"),
    (None, "", "ConnectError", "worker_down"),
    (None, "", "ReadTimeout", "timeout"),
    (None, "", "RemoteProtocolError", "other"),
    (400, "Invalid model name passed in model=x", None, "invalid_model"),
    (401, "Authentication Error", None, "other"),
])
def test_classify(status, body, error, expected):
    assert classify(status, body, error) == expected
