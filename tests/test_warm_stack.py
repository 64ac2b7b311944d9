"""A warm stack reused between runs: the reset undoes what a run (or a person) left behind, the
DB comes back as seeded with the same model ids, only touched workers restart, a run on a reused
stack says so in its evidence, and a stack whose settings do not match is replaced (or refused
with --reuse-only)."""

from __future__ import annotations

import json

import psycopg
import pytest

from chaos.errors import UsageError
from chaos.faults import make_fault
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION
from chaos.run.plan import RunPlan
from chaos.run.runner import Run
from chaos.scenarios.scenario import Scenario
from chaos.scenarios.schedule import Schedule, Step
from chaos.stack import StackConfig
from chaos.stack.components.model_reads import MODEL_TABLE
from chaos.stack.pool import StackPool
from chaos.traffic import TrafficConfig

from .helpers import leftovers

pytestmark = pytest.mark.stack

CONFIG = StackConfig(replicas=2, litellm_version=DEFAULT_LITELLM_VERSION, models=("m1", "m2"))


@pytest.fixture(scope="module")
def pool():
    with StackPool("local") as p:
        yield p
        stack = p.stack
    if stack is not None:
        assert leftovers(stack.run_id, list(stack.ports.values())) == []


def _models(stack) -> dict[str, str]:
    with psycopg.connect(stack.postgres.dsn()) as conn:
        return dict(conn.execute(f'SELECT model_id, model_name FROM "{MODEL_TABLE}"').fetchall())


def test_the_reset_undoes_what_was_left_behind_and_keeps_the_seeded_ids(pool):
    stack, info = pool.acquire(CONFIG)
    assert info["reused"] is False
    seeded = _models(stack)
    left = [make_fault({"kind": "toxic", "link": "worker-2", "type": "latency", "attributes": {"latency": 800}}, stack),
            make_fault({"kind": "haproxy_server", "state": "maint"}, stack)]
    for fault in left:  # applied and never healed, as a crashed run would leave them
        fault.apply()
    with psycopg.connect(stack.postgres.dsn()) as conn:
        conn.execute(f'DELETE FROM "{MODEL_TABLE}" WHERE model_name = %s', ("m2",))
    pool.release(touched=set(), healthy=True)
    again, info = pool.acquire(CONFIG)
    assert again is stack and info["reused"] is True and info["run_on_stack"] == 2
    assert _models(stack) == seeded  # the same rows, the same ids
    assert all(p["enabled"] and not p["toxics"] for p in stack.toxiproxy.state().values())
    assert stack.haproxy.server_status().startswith("UP")
    # the DB changed under the workers: every router may hold stale state, so all restarted
    assert set(info["reset"]["restarted"]) == {"worker-1", "worker-2"}
    pool.release(touched=set(), healthy=True)


def test_a_reset_with_nothing_touched_restarts_nothing_and_is_quick(pool):
    stack, _ = pool.acquire(CONFIG)
    pool.release(touched=set(), healthy=True)
    _, info = pool.acquire(CONFIG)
    assert info["reset"]["restarted"] == [] and info["reset"]["did"] == ["nothing to undo"]
    assert info["reset"]["seconds"] < 10  # benchmarks/warm_reset.py measures it
    pool.release(touched={"worker-1"}, healthy=True)
    _, info = pool.acquire(CONFIG)
    assert info["reset"]["restarted"] == ["worker-1"]
    pool.release(touched=set(), healthy=True)


def test_runs_on_a_warm_stack_record_the_reuse_and_their_own_evidence(pool, tmp_path):
    scenario = Scenario("W1", "worker-1's link down for 2 s", Schedule("W1", [
        Step("down", apply={"kind": "link_down", "link": "worker-1"}), Step("up", heal="down", delay_s=2)], recovery_s=0),
        stack={"replicas": 2}, contract=("recovery",), advisory=())
    first = Run(RunPlan(scenario, CONFIG, TrafficConfig(front_door_rate=5), tmp_path), pool=pool)
    first.execute()
    assert first.touched == {"worker-1"}
    second = Run(RunPlan(scenario, CONFIG, TrafficConfig(front_door_rate=5), tmp_path), pool=pool)
    second.execute()
    for run in (first, second):
        assert run.verdict.status == "pass", run.verdict_block
    verdict = json.loads((second.evidence / "verdict.json").read_text())
    reuse = verdict["stack"]["reuse"]
    assert reuse["reused"] is True and reuse["reset"]["restarted"] == ["worker-1"]
    kinds = [json.loads(line)["kind"] for line in (second.evidence / "events.jsonl").read_text().splitlines()]
    assert kinds[0] == "reset_started" and "reset_done" in kinds and "baseline_met" in kinds
    assert "schema_applied" not in kinds  # the stack's start belongs to the first run's evidence
    assert "stack: reused" in second.verdict_block and "ended:" in second.verdict_block
    # each run's logs hold its own part of the workers' logs: the second's starts where the first's ends
    whole = second.stack.component_logs()["worker-1"].read_bytes()
    first_part = (first.evidence / "logs" / "worker-1.log").read_bytes()
    second_part = (second.evidence / "logs" / "worker-1.log").read_bytes()
    assert len(second_part) < len(whole) and whole.find(second_part[:200]) > whole.find(first_part[:200]) >= 0


def test_a_stack_whose_settings_differ_is_replaced_or_refused(pool):
    pool.acquire(CONFIG)
    pool.release(touched=set(), healthy=True)
    strict = StackPool("local", reuse_only=True)
    strict.stack, strict.runs_on_stack = pool.stack, pool.runs_on_stack  # the same warm stack, judged strictly
    with pytest.raises(UsageError, match="--reuse-only.*replicas: 2 vs 1"):
        strict.acquire(StackConfig(replicas=1, litellm_version=DEFAULT_LITELLM_VERSION, models=("m1", "m2")))
