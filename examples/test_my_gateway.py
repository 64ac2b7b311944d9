"""What a team writes to test its own LiteLLM gateway with litellm-chaos (`pip install
litellm-chaos`; the pytest plugin registers itself):

    pytest -m chaos examples/ --chaos-litellm 1.108.7

Its own proxy config (my-proxy-config.yaml: its settings and a config model) and the models it keeps
in the DB (my-db-models.yaml, seeded into the test stack's DB: the incident's setup; without DB models
the restart scenarios are not applicable), litellm-chaos pointing every model at a fake upstream and
saying what else it overrides; one schedule of its own, one of the built-in scenarios."""

import dataclasses
from pathlib import Path

import pytest

from chaos import Schedule, Step

pytestmark = pytest.mark.chaos

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def chaos_settings(chaos_settings):
    """Every run of this suite uses our proxy config and our DB models (the --chaos-* options still apply)."""
    return dataclasses.replace(chaos_settings, litellm_config=HERE / "my-proxy-config.yaml",
                               db_models_from=HERE / "my-db-models.yaml")


def test_our_models_survive_a_short_database_outage(chaos_run):
    """PostgreSQL stopped for 10 s under the running fleet: nothing may be evicted or refused."""
    schedule = Schedule("db-blip", [Step("stop-db", apply={"kind": "pg_stop"}), Step("start-db", heal="stop-db", delay_s=10)],
                        contract=["no_invalid_model_ready_gated", "client_invalid_model", "recovery", "no_model_lost"],
                        advisory=["listing_consistent", "no_stall"])
    run = chaos_run(schedule)
    assert run.verdict.status == "pass", run.verdict_block
    assert {m for m in run.stack.config.models} == {"gpt-4o-mini", "claude-3-5-haiku", "gemini-2.5-flash"}


def test_our_fleet_survives_a_database_outage_across_reloads(chaos_run):
    """The built-in S5: the DB unreachable for several reload intervals while every replica serves."""
    run = chaos_run("S5")
    assert run.verdict.status == "pass", run.verdict_block
