"""The front door on a real stack: HAProxy round robin over the ready workers, naming who answered;
a stopped worker is taken out at once (as Kubernetes drops a terminating pod) and comes back after
its next successful readiness probe; the traffic engine records what went through it, the listing
probes record what every worker lists, and management calls can go through it."""

from __future__ import annotations

import time

import pytest

from chaos import LocalStack, StackConfig
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION
from chaos.run.history import History
from chaos.stack.config import FrontDoorConfig
from chaos.traffic import FRONT_DOOR, TrafficConfig, TrafficEngine

from .helpers import leftovers

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack():
    # a 1 s probe period keeps the test short, a 3 s probe timeout keeps a busy 2-core machine from
    # failing probes; the defaults are Kubernetes' (10 s, 3, 1, 1 s)
    s = LocalStack(StackConfig(replicas=2, litellm_version=DEFAULT_LITELLM_VERSION, models=("m1", "m2"),
                               front_door=FrontDoorConfig(period_s=1.0, timeout_s=3.0)))
    with s:
        yield s
    assert leftovers(s.run_id, list(s.ports.values())) == []


def _engine(stack, history, **traffic):
    config = TrafficConfig(**({"rate_per_worker": 30, "front_door_rate": 20} | traffic))
    return TrafficEngine({w.name: w.url for w in stack.workers()}, list(stack.config.models), stack.master_key, history,
                         config, front_door_url=stack.front_door.url)


def _through(history):
    """Chat probes sent through the front door, less those the harness cancelled when it stopped."""
    return [op for op in history.ops if op.worker == FRONT_DOOR and op.f == "chat" and op.cls != "cancelled"]


def test_front_door_round_robins_over_ready_workers_and_names_who_answered(stack):
    history = History()
    with _engine(stack, history):
        time.sleep(3)
    through = _through(history)
    assert through and all(op.via == "front_door" for op in through)
    assert [op for op in through if op.cls != "ok"] == []
    assert {op.served_by for op in through} == {"worker-1", "worker-2"}
    assert {op.value for op in through} == {"default"}  # the upstream route that served them
    assert stack.front_door.url.startswith("http://127.0.0.1:")


def test_listing_probes_record_what_each_worker_lists(stack):
    history = History()
    with _engine(stack, history):
        time.sleep(2)
    for f in ("models", "model_info_list"):
        polls = [op for op in history.ops if op.f == f]
        assert {op.worker for op in polls} == {"worker-1", "worker-2"}, f
        assert all(op.value == ["m1", "m2"] for op in polls if op.cls == "ok"), f


def test_a_stopped_worker_is_taken_out_at_once_and_back_after_its_next_probe(stack):
    history = History()
    with _engine(stack, history):
        time.sleep(1)
        stop_t = time.monotonic()
        stack.stop_worker("worker-1")
        assert stack.front_door.states()["worker-1"].startswith(("DOWN", "MAINT")), stack.front_door.states()
        time.sleep(2)
        start_t = time.monotonic()
        stack.start_worker("worker-1")
        stack.wait_ready("worker-1")
        ready_t = time.monotonic()
        deadline = ready_t + 5
        while not stack.front_door.states()["worker-1"].startswith("UP") and time.monotonic() < deadline:
            time.sleep(0.1)
        back_t = time.monotonic()
        time.sleep(4)  # a just-started worker answers its first requests slowly
    assert back_t - ready_t < 3, "not back within its probe period after ready"
    through = _through(history)
    # while worker-1 was stopped and starting, every request through the front door was served (by worker-2)
    gap = [op for op in through if stop_t + 0.5 < op.t0 < start_t]
    # went to worker-2 only (on this busy 2-core machine the lone worker-2 may time out or be refused
    # some: that is load, not routing)
    assert [op for op in gap if op.served_by == "worker-1"] == []
    assert any(op.cls == "ok" and op.served_by == "worker-2" for op in gap), [op for op in gap if op.cls != "ok"]
    assert [op for op in gap if op.cls == "invalid_model"] == []
    assert any(op.served_by == "worker-1" for op in through if op.t0 > back_t)
    assert [e for e in stack.events.events("front_door_took_out") if e["worker"] == "worker-1"]


def test_management_calls_through_the_front_door(stack):
    history = History()
    # 1.108.7's /model/new can take over a minute on a loaded 2-core machine (README findings, S7):
    # this test is about routing, not speed
    engine = _engine(stack, history, listing_rate_per_worker=0, model_info_rate_per_worker=0, management_timeout_s=240,
                     rate_per_worker=4, front_door_rate=2)  # little chat load: the calls are the point
    with engine:
        created = engine.call(engine.model_new(FRONT_DOOR, "fd-model", stack.upstream_url))
        assert created.cls == "ok" and created.via == "front_door" and created.served_by in ("worker-1", "worker-2")
        model_id = engine.call(engine.model_id(created.served_by, "fd-model"))
        assert model_id
        updated = engine.call(engine.model_update(FRONT_DOOR, "fd-model", model_id, stack.upstream_url, "blue"))
        assert updated.cls == "ok" and updated.value == "blue"
        chat = engine.call(engine.chat(updated.served_by, "fd-model"))
        assert chat.cls == "ok" and chat.value == "blue"  # the worker that updated it serves the new parameters
        deleted = engine.call(engine.model_delete(updated.served_by, "fd-model", model_id))
        assert deleted.cls == "ok"
        gone = engine.call(engine.model_info(deleted.worker, "fd-model"))
        assert gone.cls == "ok" and gone.value is False
