"""--litellm-config with many models: a file of settings only (model_list empty) takes --models N or
--models-file, seeded into the DB; a file that names models refuses more; --db-models-from adds too."""

import pytest

from chaos.errors import UsageError
from chaos.options import RunSettings, model_fields

SETTINGS_ONLY = """
model_list: []
general_settings:
  allow_requests_on_db_unavailable: true
router_settings:
  num_retries: 0
litellm_settings:
  request_timeout: 17
"""
WITH_MODELS = """
model_list:
  - model_name: mine
    litellm_params: {model: openai/gpt-4o-mini, api_key: sk-secret}
"""


def test_settings_only_config_takes_140_generated_models_into_the_db(tmp_path):
    cfg = tmp_path / "settings.yaml"
    cfg.write_text(SETTINGS_ONLY)
    fields = model_fields(RunSettings(litellm_config=cfg, models="140"))
    assert len(fields["models"]) == 140 and fields["config_models"] == ()  # every one a DB model
    assert fields["reload_interval_s"] == 30.0  # LiteLLM's own: a 5 s reload of 140 models overruns itself
    assert "reload_interval_s" not in model_fields(RunSettings(models="3"))
    assert fields["user_settings"]["litellm_settings"]["request_timeout"] == 17  # the user's settings kept
    names = tmp_path / "names.txt"
    names.write_text("alpha\nbeta\n")
    assert model_fields(RunSettings(litellm_config=cfg, models_file=names))["models"] == ("alpha", "beta")


def test_a_config_that_names_models_refuses_more_and_names_are_not_given_twice(tmp_path):
    cfg = tmp_path / "models.yaml"
    cfg.write_text(WITH_MODELS)
    with pytest.raises(UsageError, match=r"names 1 model\(s\) in its model_list and --models names more"):
        model_fields(RunSettings(litellm_config=cfg, models="3"))
    settings_only = tmp_path / "settings.yaml"
    settings_only.write_text(SETTINGS_ONLY)
    db = tmp_path / "db.yaml"
    db.write_text(WITH_MODELS)
    both = model_fields(RunSettings(litellm_config=settings_only, db_models_from=db, models="a,b"))
    assert set(both["models"]) == {"mine", "a", "b"}
    with pytest.raises(UsageError, match="both name 'mine'"):
        model_fields(RunSettings(litellm_config=settings_only, db_models_from=db, models="mine,b"))
    with pytest.raises(UsageError, match="--models and --models-file both name the models"):
        model_fields(RunSettings(models="3", models_file=db))
    with pytest.raises(UsageError, match="no models in its model_list"):
        model_fields(RunSettings(litellm_config=settings_only))
