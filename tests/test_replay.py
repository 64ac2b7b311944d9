"""schedule.json records the stack a run used, so `chaos replay FILE` alone brings up the same one."""

from chaos.scenarios import catalog
from chaos.run.runner import replay_fields
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
