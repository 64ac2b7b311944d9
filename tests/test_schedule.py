"""Schedules as data and the step interpreter's triggers: an event OR a bounded, bug-independent
fallback, and at the step's deadline at the latest; a trigger that waits on a behaviour under test
without a fallback is a schedule error. No stack needed: triggers only read the event log."""

import threading
import time

import pytest

from chaos.scenarios import catalog
from chaos.errors import UsageError
from chaos.faults import FaultError
from chaos.run.events import EventLog
from chaos.run.interpreter import Bounds, StepInterpreter
from chaos.scenarios.scenario import Scenario
from chaos.scenarios.schedule import UNDER_TEST_EVENTS, Fallback, Schedule, Step


class _Stack:
    def __init__(self):
        from chaos.stack import StackConfig

        self.events = EventLog()
        self.config = StackConfig(models=("m1", "m2", "m3"))

    def worker_names(self):
        return ["worker-1", "worker-2"]


def _interpreter():
    stack = _Stack()
    return StepInterpreter(stack, engine=None, bounds=Bounds(20, 20), log=lambda m: None, name="t"), stack.events


def _later(seconds, events, kind, **fields):
    threading.Timer(seconds, lambda: events.record(kind, **fields)).start()


def _heal_step(after_s=0.3, within_s=2.0, delay_s=0.0):
    return Step("heal", heal="fault", on="worker_ready", match={"worker": "worker-1"}, delay_s=delay_s, within_s=within_s,
                fallback=Fallback(after_s=after_s, event="worker_live", match={"worker": "worker-1"}))


def _fired(events):
    return events.events("step_fired")[-1]


def test_the_fallback_fires_when_the_event_under_test_never_comes():
    interp, events = _interpreter()
    t0 = time.monotonic()
    _later(0.1, events, "worker_live", worker="worker-1")
    interp._wait_trigger(_heal_step(after_s=0.3), t0, t0)
    took = time.monotonic() - t0
    assert 0.35 <= took < 0.8
    fired = _fired(events)
    assert fired["by"] == "fallback" and fired["source"] == "worker_live" and fired["fallback"]["after_s"] == 0.3


def test_the_event_fires_when_it_comes_first_and_its_delay_applies():
    interp, events = _interpreter()
    t0 = time.monotonic()
    _later(0.05, events, "worker_live", worker="worker-1")
    _later(0.1, events, "worker_ready", worker="worker-1")
    interp._wait_trigger(_heal_step(after_s=1.0, delay_s=0.2), t0, t0)
    assert 0.28 <= time.monotonic() - t0 < 0.8
    assert _fired(events)["by"] == "event"


def test_events_of_another_worker_or_before_the_previous_step_do_not_count():
    interp, events = _interpreter()
    events.record("worker_ready", worker="worker-1")  # before the previous step fired
    t0 = time.monotonic()
    _later(0.05, events, "worker_ready", worker="worker-2")
    interp._wait_trigger(_heal_step(after_s=1.0, within_s=0.4), t0, t0)
    assert _fired(events)["by"] == "deadline"


def test_with_no_anchor_either_the_step_fires_at_its_deadline():
    interp, events = _interpreter()
    t0 = time.monotonic()
    interp._wait_trigger(_heal_step(after_s=0.2, within_s=0.5), t0, t0)
    assert 0.45 <= time.monotonic() - t0 < 1.0
    assert _fired(events)["by"] == "deadline"


def test_a_missing_harness_event_without_fallback_aborts():
    interp, events = _interpreter()
    t0 = time.monotonic()
    with pytest.raises(FaultError, match="worker_spawned"):
        interp._wait_trigger(Step("x", heal="a", on="worker_spawned", within_s=0.2), t0, t0)


@pytest.mark.parametrize("event", UNDER_TEST_EVENTS)
def test_waiting_on_a_behaviour_under_test_without_fallback_is_a_schedule_error(event):
    with pytest.raises(UsageError, match=f"'{event}'.*fallback"):
        Schedule("x", [Step("a", apply={"kind": "link_down"}), Step("b", heal="a", on=event)]).validate()


@pytest.mark.parametrize("fallback, needle", [
    ({"from": "worker_live", "after_s": 200}, "longer than the step's within_s"),
    ({"from": "worker_ready", "after_s": 5}, "bug-independent"),
    ({"from": "full_moon", "after_s": 5}, "bug-independent"),
    ({"from": "worker_live", "after_s": -1}, "after_s=-1"),
    ({"from": "worker_live"}, "expected"),
    ({"from": "worker_live", "after_s": 5, "when": 3}, "expected"),
])
def test_bad_fallbacks_are_named(fallback, needle):
    data = {"steps": [{"id": "a", "apply": {"kind": "link_down"}},
                      {"id": "b", "heal": "a", "on": "worker_ready", "fallback": fallback, "within_s": 150}]}
    with pytest.raises(UsageError, match=needle):
        Schedule.from_json(data, "s.json")


def test_a_fallback_needs_an_event_trigger():
    with pytest.raises(UsageError, match="needs an event trigger"):
        Schedule("x", [Step("a", apply={"kind": "link_down"}, fallback=Fallback(after_s=3))]).validate()


@pytest.mark.parametrize("step, needle", [
    ({"id": "a", "delete_models": {"models": []}}, "non-empty list"),
    ({"id": "a", "update_models": {"models": ["m"], "route": "no/slash"}}, "route"),
    ({"id": "a", "create_models": {"count": 0}}, "count=0"),
    ({"id": "a", "create_models": {"via": "side_door"}}, "side_door"),
    ({"id": "a", "create_models": {"colour": "red"}}, "colour"),
    ({"id": "a", "apply": {"kind": "link_down"}, "settle": "forever"}, "settle"),
])
def test_bad_management_steps_are_named(step, needle):
    with pytest.raises(UsageError, match=needle):
        Schedule.from_json({"steps": [step]}, "s.json")


def test_a_schedule_round_trips_through_json_with_its_fallback_and_judges():
    scenario = catalog.get("S1")
    data = scenario.evidence_schedule({"replicas": 2}).to_json()
    again = Schedule.from_json(data, "evidence")
    assert again.steps[-1].fallback == scenario.schedule.steps[-1].fallback
    assert again.contract == list(scenario.contract) and again.advisory == list(scenario.advisory)
    replayed = Scenario.from_schedule(again, "replay", {})
    assert replayed.contract == scenario.contract and replayed.bounds == scenario.bounds


def test_a_schedules_own_chat_rate_round_trips():
    s11 = catalog.get("S11").schedule
    assert Schedule.from_json(s11.to_json(), "evidence").rate_per_worker == s11.rate_per_worker
    for bad in (0, -5, "fast", True):
        with pytest.raises(UsageError, match=f"rate_per_worker={bad!r}"):
            Schedule.from_json({"steps": [], "rate_per_worker": bad}, "s.json")


def test_a_scenario_naming_an_unknown_invariant_is_refused():
    with pytest.raises(UsageError, match="no invariant 'no_such_checker'"):
        Scenario("X", "x", Schedule("X", []), contract=("no_such_checker",)).validate()
    data = {"steps": [], "contract": ["recovery", "no_such_checker"]}
    with pytest.raises(UsageError, match="no_such_checker"):
        Scenario.from_schedule(Schedule.from_json(data, "s.json"), "replay", {})


def test_every_seed_scenario_is_valid_and_no_step_waits_on_readiness_without_a_fallback():
    for name in catalog.SCENARIOS:
        scenario = catalog.get(name)  # validates
        for step in scenario.schedule.steps:
            if step.on in UNDER_TEST_EVENTS:
                assert step.fallback is not None, (name, step.id)
        assert scenario.contract, name


class _FakeEngine:
    """Stands in for the harness's own traffic engine (not for the system under test): records the
    management calls the interpreter makes and answers them ok."""

    def __init__(self):
        self.calls, self.models = [], []

    def call(self, coro, timeout=60):
        import asyncio

        return asyncio.run(coro)

    def add_model(self, name):
        self.models.append(name)

    async def _op(self, *call):
        from chaos.run.history import Op

        self.calls.append(call)
        return Op(id=len(self.calls), type="ok", f=call[0], worker=call[1], t0=time.monotonic(), t=time.monotonic(), cls="ok")

    async def model_new(self, target, name, upstream):
        return await self._op("model_new", target, name)

    async def model_info(self, target, name):
        return await self._op("model_info", target, name)

    async def model_id(self, target, name):
        await self._op("model_id", target, name)
        return f"id-{name}"

    async def model_delete(self, target, name, model_id):
        return await self._op("model_delete", target, name, model_id)

    async def model_update(self, target, name, model_id, upstream, route, spec=None):
        return await self._op("model_update", target, name, model_id, route)


def test_the_interpreter_drives_creates_deletes_and_updates_and_settles():
    stack = _Stack()
    stack.upstream_url = "http://127.0.0.1:1"
    engine = _FakeEngine()
    interp = StepInterpreter(stack, engine, Bounds(recovery_s=0.2, propagation_s=0.3), log=lambda m: None, name="t")
    schedule = Schedule("t", [
        Step("create", create_models={"via": "front_door", "count": 2, "prefix": "n"}),
        Step("delete", delete_models={"worker": "worker-2", "models": ["n-1"]}, settle="propagation_bound"),
        Step("update", update_models={"worker": "worker-1", "models": ["n-2"], "route": "blue"}),
        Step("delete-seeded", delete_models={"worker": "worker-1", "models": ["seed:1"]}),
    ]).validate()
    t0 = time.monotonic()
    interp.run(schedule)
    assert time.monotonic() - t0 >= 1.3  # settle: propagation bound + 1 s
    assert engine.models == ["n-1", "n-2"]
    assert ("model_new", "front-door", "n-1") in engine.calls and ("model_info", "front-door", "n-2") in engine.calls
    assert ("model_delete", "worker-2", "n-1", "id-n-1") in engine.calls
    assert ("model_update", "worker-1", "n-2", "id-n-2", "blue") in engine.calls
    assert ("model_delete", "worker-1", "m2", "id-m2") in engine.calls  # seed:1 is the stack's second model
    returned = stack.events.events("management_returned")
    assert [(e["action"], e.get("created", e.get("changed"))) for e in returned] == [("create", 2), ("delete", 1), ("update", 1),
                                                                                    ("delete", 1)]
    assert interp.touched == {"worker-1", "worker-2"}  # every router follows a model change


def test_a_fault_touches_its_worker_or_the_whole_fleet():
    from chaos.run.interpreter import touched_by

    workers = ["worker-1", "worker-2"]
    assert touched_by({"kind": "link_down", "link": "worker-2"}, workers) == {"worker-2"}
    assert touched_by({"kind": "worker_restart", "worker": "worker-1"}, workers) == {"worker-1"}
    assert touched_by({"kind": "link_down", "link": "workers"}, workers) == set(workers)
    assert touched_by({"kind": "pg_stop"}, workers) == set(workers)


def test_after_heal_the_recovery_clock_waits_for_a_late_restarted_worker_to_listen(monkeypatch):
    interp, events = _interpreter()
    events.record("worker_spawned", worker="worker-1", spawn=1)
    events.record("worker_live", worker="worker-1", spawn=1)  # listening since: nothing to wait for
    assert interp.await_listening(["worker-1", "worker-2"]) == [] and not events.events("recovery_clock_waited")
    events.record("worker_spawned", worker="worker-2", spawn=2)  # restarted by the last step
    _later(0.3, events, "worker_live", worker="worker-2", spawn=2)
    t0 = time.monotonic()
    said = interp.await_listening(["worker-1", "worker-2"])
    assert 0.25 <= time.monotonic() - t0 < 1.0
    assert said == [said[0]] and said[0].startswith("worker-2: live after ")
    monkeypatch.setattr("chaos.run.interpreter.LISTEN_ALLOWANCE_S", 0.3)  # one that never listens: bounded
    events.record("worker_spawned", worker="worker-2", spawn=3)
    t0 = time.monotonic()
    assert interp.await_listening(["worker-2"]) == ["worker-2: not live 0.3 s after its spawn"]
    assert time.monotonic() - t0 < 1.0
    assert len(events.events("recovery_clock_waited")) == 2
