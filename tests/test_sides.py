"""Model changes from every side: "worker": "each" sends a change through each worker, the front
door and the DB in turn, so a bug on one worker's reload path is judged whichever worker it hits;
"created:STEP" names what an earlier step created; a DB-side change is judged like an API one."""

import asyncio
import time

import pytest

from chaos.errors import UsageError
from chaos.faults.network import connection_attempts
from chaos.oracle.invariants import check_safe
from chaos.oracle.context import FAIL, PASS, CheckContext
from chaos.run.events import EventLog
from chaos.run.history import Op
from chaos.run.interpreter import Bounds, StepInterpreter
from chaos.scenarios.schedule import Schedule, Step
from chaos.stack import StackConfig


class FakeEngine:
    def __init__(self):
        self.calls, self.n = [], 0

    def _op(self, f, target, model, value=None):
        self.n += 1
        self.calls.append((f, target, model) + ((value,) if value else ()))
        return Op(id=self.n, type="ok", f=f, worker=target, t0=time.monotonic(), t=time.monotonic(), model=model, status=200,
                  cls="ok", value=value, via="db" if target == "db" else None)

    async def model_new(self, target, name, upstream):
        return self._op("model_new", target, name)

    async def model_info(self, target, name):
        return self._op("model_info", target, name)

    async def model_id(self, target, name):
        return f"id-{name}"

    async def model_delete(self, target, name, model_id):
        return self._op("model_delete", target, name)

    async def model_update(self, target, name, model_id, upstream, route, spec=None):
        return self._op("model_update", target, name, route)

    async def via_db(self, f, model, write, value=None):
        return self._op(f, "db", model, value)

    def add_model(self, name):
        pass

    def call(self, coro, timeout=None):
        return asyncio.run(coro)


class FakeStack:
    upstream_url = "http://127.0.0.1:1"
    salt_key = "salt"
    front_door = object()

    def __init__(self):
        self.events = EventLog()
        self.config = StackConfig(models=("m0", "m1", "m2", "m3", "m4"))
        self.postgres = type("PG", (), {"dsn": lambda self: "postgresql://never-used"})()

    def worker_names(self):
        return ["worker-1", "worker-2"]


def _run(steps):
    engine = FakeEngine()
    interp = StepInterpreter(FakeStack(), engine, Bounds(20, 20), lambda m: None, "t")
    for step in Schedule("t", steps=steps).validate("t").steps:
        getattr(interp, f"_do_{step.action()}")(step)
    return engine.calls


def test_each_side_creates_one_model_and_deletes_it_from_another_side():
    calls = _run([Step("create", create_models={"worker": "each", "prefix": "x"}),
                  Step("delete", delete_models={"worker": "each", "models": ["created:create"], "start": 1})])
    creates = [(t, m) for f, t, m in calls if f == "model_new"]
    assert creates == [("worker-1", "x-worker-1"), ("worker-2", "x-worker-2"), ("front-door", "x-front-door"), ("db", "x-db")]
    deletes = [(t, m) for f, t, m in calls if f == "model_delete"]
    assert deletes == [("worker-2", "x-worker-1"), ("front-door", "x-worker-2"), ("db", "x-front-door"), ("worker-1", "x-db")]


def test_each_side_updates_in_turn_with_a_route_of_its_own():
    calls = _run([Step("update", update_models={"worker": "each", "models": ["seed:0", "seed:1", "seed:2", "seed:3"],
                                                "route": "blue"})])
    assert [(c[1], c[2], c[3]) for c in calls] == [("worker-1", "m0", "blue0"), ("worker-2", "m1", "blue1"),
                                                   ("front-door", "m2", "blue2"), ("db", "m3", "blue3")]


def test_bad_sides_are_one_line_errors():
    with pytest.raises(UsageError, match="via='carrier-pigeon'"):
        Schedule("t", steps=[Step("d", delete_models={"via": "carrier-pigeon", "models": ["a"]})]).validate("t")
    with pytest.raises(UsageError, match="'created:nope' names no earlier step"):
        Schedule("t", steps=[Step("d", delete_models={"worker": "each", "models": ["created:nope"]})]).validate("t")
    with pytest.raises(UsageError, match="start=-1"):
        Schedule("t", steps=[Step("d", delete_models={"worker": "each", "models": ["a"], "start": -1})]).validate("t")


def _ctx(end_t=60.0):
    return CheckContext(workers=["worker-1", "worker-2"], models=["m"], events=[], heal_t=None, end_t=end_t,
                        recovery_bound_s=10, propagation_bound_s=5)


def test_a_delete_written_in_the_db_gives_every_worker_the_bound_and_catches_a_worker_that_never_follows():
    delete = Op(id=1, type="ok", f="model_delete", worker="db", t0=10.0, t=10.1, model="m", status=None, cls="ok", via="db")
    ops = [delete]
    for i in range(40):
        t = 11.0 + i
        for w in ("worker-1", "worker-2"):
            ops.append(Op(id=100 + i * 2 + (w == "worker-2"), type="ok", f="models", worker=w, t0=t, t=t + 0.01,
                          status=200, cls="ok", value=[] if (w == "worker-1" or t < 14) else ["m"]))
    r = check_safe("delete_propagates", ops, _ctx())
    assert r.status == FAIL and {v.worker for v in r.violations} == {"worker-2"}  # worker-1 followed, worker-2 never
    fixed = [op for op in ops if not (op.worker == "worker-2" and op.f == "models" and op.t0 >= 14)]
    assert check_safe("delete_propagates", fixed, _ctx()).status == PASS


def test_toxiproxys_log_tells_which_workers_tried_the_db(tmp_path):
    log = tmp_path / "toxiproxy.log"
    before = '{"level":"info","name":"worker-1-to-haproxy","client":"127.0.0.1:1","time":"2026-12-04T05:13:00Z","message":"Accepted client"}\n'
    log.write_text(before)
    offset = log.stat().st_size
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with open(log, "a") as f:
        f.write(f'{{"level":"info","name":"worker-2-to-haproxy","client":"127.0.0.1:2","time":"{stamp}","message":"Accepted client"}}\n')
        f.write("not json\n")
    found = connection_attempts(log, offset, ["worker-1-to-haproxy", "worker-2-to-haproxy"])
    assert set(found) == {"worker-2-to-haproxy"}  # worker-1's line came before the fault
    assert abs(found["worker-2-to-haproxy"] - time.monotonic()) < 2.5
    assert connection_attempts(tmp_path / "missing.log", 0, ["x"]) == {}
