"""schedule.json records the stack a run used, so `chaos replay FILE` alone brings up the same one."""

from argparse import Namespace
from dataclasses import replace

from chaos.cli import without_overridden
from chaos.options import RunSettings
from chaos.run.runner import replay_fields
from chaos.scenarios import catalog
from chaos.scenarios.scenario import Scenario
from chaos.scenarios.schedule import Schedule
from chaos.stack import StackConfig


def test_the_recorded_stack_reads_back_as_the_same_stack(tmp_path):
    s1 = catalog.get("S1")
    config = StackConfig.from_fields({"litellm_version": "1.82.3", "models": ("a", "b", "c")} | s1.stack, "S1")
    s1.evidence_schedule(replay_fields(config), 12.5).save(tmp_path / "schedule.json")
    again = Schedule.load(tmp_path / "schedule.json")
    assert again.rate_per_worker == 12.5 and again.stack["litellm_version"] == "1.82.3"
    back = StackConfig.from_fields(again.stack, "replay")
    for name in ("replicas", "litellm_version", "models", "allow_requests_on_db_unavailable", "worker_env", "front_door",
                 "reload_interval_s", "seed_via", "store_model_in_db_source"):
        assert getattr(back, name) == getattr(config, name), name


def test_a_virtualenv_run_records_its_virtualenv(tmp_path):
    config = StackConfig(litellm_venv=tmp_path / "venv", litellm_version="1.108.7")
    assert replay_fields(config)["litellm_venv"] == str(tmp_path / "venv")


def test_workers_fork_by_default_and_cold_start_turns_it_off():
    s1 = catalog.get("S1")
    assert RunSettings().scenario_fields(s1)["fast_start"] is True
    assert RunSettings(cold_start=True).scenario_fields(s1)["fast_start"] is False


def test_a_replay_keeps_the_recorded_kind_of_start_unless_told_cold():
    recorded = {"litellm_version": "1.82.3", "fast_start": True, "models": ["a"]}
    args = Namespace(models=None, models_file=None, litellm_config=None, cold_start=False)
    assert without_overridden(recorded, args) == recorded
    cold = without_overridden(recorded, Namespace(**vars(args) | {"cold_start": True}))
    assert "fast_start" not in cold and cold["models"] == ["a"]
    schedule = replace(catalog.get("S1").schedule, stack=cold)
    replayed = Scenario.from_schedule(schedule, "replay", catalog.INCIDENT_STACK)
    assert RunSettings(cold_start=True).scenario_fields(replayed)["fast_start"] is False
    as_recorded = Scenario.from_schedule(replace(schedule, stack=recorded), "replay", catalog.INCIDENT_STACK)
    assert RunSettings(cold_start=True).scenario_fields(as_recorded)["fast_start"] is True  # why it is dropped
