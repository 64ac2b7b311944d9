"""The user's own LiteLLM proxy config.yaml (`--litellm-config`), run on the stack.

Every setting the stack does not need to own is kept. What it owns is overridden, and each
override is said (printed, and written into the evidence as config-overrides.json):
- the DB, the keys, host and port, schema updates, the reload interval: the stack's;
- `store_model_in_db` and whatever the scenario sets (e.g. `allow_requests_on_db_unavailable`);
- every model's `api_base` and credentials: the fake upstream's (provider prefixes kept);
- anything that would send traffic off the machine: callbacks, alerting, Redis, environment_variables.
Models in `model_list` become config models (in the config file); `--db-models-from FILE` seeds
another file's `model_list` into the DB instead (the incident's setup). Secrets of the user's file
(any key, password, token, or `os.environ/...` reference) never reach the evidence: it gets a
sanitized copy."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import yaml

from chaos.errors import UsageError
from chaos.litellm.models import ModelSpec, spec

_STACK_OWNED = {
    "general_settings": {"master_key": "the stack's (random per run)", "database_url": "the stack's PostgreSQL (DATABASE_URL)",
                         "store_model_in_db": "the stack's (the scenario says where it is set)",
                         "disable_prisma_schema_update": "the stack's (the schema job applied the migrations)",
                         "alerting": "off (it would send traffic off the machine)",
                         "alerting_args": "off (alerting is off)"},
    "litellm_settings": {"success_callback": "off (traffic off the machine)", "failure_callback": "off (traffic off the machine)",
                         "callbacks": "off (traffic off the machine)", "service_callback": "off (traffic off the machine)",
                         "cache": "off (no cache server on the stack)", "cache_params": "off (no cache server on the stack)",
                         "telemetry": "off"},
    "router_settings": {k: "off (no Redis on the stack)" for k in ("redis_host", "redis_port", "redis_password", "redis_url")},
}
_DROPPED_SECTIONS = {"environment_variables": "dropped (may hold secrets and off-machine endpoints)"}
_SECRET_WORDS = ("key", "secret", "password", "token", "credential")


@dataclass
class UserConfig:
    source: Path
    settings: dict  # general_settings, router_settings, litellm_settings, ... with what the stack owns removed
    config_models: tuple[ModelSpec, ...]  # the file's model_list (go into the workers' config)
    db_models: tuple[ModelSpec, ...]  # --db-models-from: seeded into the DB
    overrides: list[str]
    sanitized: dict  # the user's file, secrets replaced, for the evidence


def _load_yaml(path: Path, what: str) -> dict:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise UsageError(f"{what} {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise UsageError(f"{what} {path}: line {mark.line + 1}, column {mark.column + 1}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{what} {path}: not YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{what} {path}: expected a mapping (model_list, general_settings, ...), found {type(data).__name__}")
    return data


def _model_specs(data: dict, path: Path, what: str) -> tuple[ModelSpec, ...]:
    entries = data.get("model_list") or []
    if not isinstance(entries, list):
        raise UsageError(f"{what} {path}: model_list must be a list of models")
    specs, seen = [], set()
    for i, entry in enumerate(entries, 1):
        params = entry.get("litellm_params") if isinstance(entry, dict) else None
        name = entry.get("model_name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or not isinstance(params, dict) or not isinstance(params.get("model"), str):
            raise UsageError(f"{what} {path}: model_list entry {i} needs model_name and litellm_params.model")
        if name in seen:  # several deployments of one name: LiteLLM load-balances them; one is enough here
            continue
        seen.add(name)
        specs.append(spec(name, params["model"], params))
    return tuple(specs)


def sanitize(value):
    """The value with every secret replaced: keys named like secrets, os.environ/ references."""
    if isinstance(value, dict):
        return {k: "<redacted>" if any(w in str(k).lower() for w in _SECRET_WORDS) and value[k] not in (None, "", True, False)
                else sanitize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sanitize(v) for v in value]
    if isinstance(value, str) and value.startswith("os.environ/"):
        return "<redacted>"
    return value


def load(path: Path, db_models_from: Path | None = None, scenario_general: dict | None = None,
         more_db_models: tuple[ModelSpec, ...] = (), more_from: str = "--models") -> UserConfig:
    """The user's config; `more_db_models` (from --models N or --models-file) are seeded into the DB
    beside it, allowed only where its model_list names no models (one source of models each)."""
    data = _load_yaml(path, "--litellm-config")
    config_models = _model_specs(data, path, "--litellm-config")
    if more_db_models and config_models:
        raise UsageError(f"--litellm-config {path} names {len(config_models)} model(s) in its model_list and {more_from} "
                         f"names more; {more_from} goes with a config whose model_list is empty")
    from_file = _model_specs(_load_yaml(db_models_from, "--db-models-from"), db_models_from, "--db-models-from") if db_models_from else ()
    twice = {m.name for m in from_file} & {m.name for m in more_db_models}
    if twice:
        raise UsageError(f"{more_from} and --db-models-from {db_models_from} both name {sorted(twice)[0]!r}; name each model once")
    db_models = (*from_file, *more_db_models)
    if not config_models and not db_models:
        raise UsageError(f"--litellm-config {path}: no models in its model_list (and no --db-models-from); "
                         f"give it models, or add --models N / --models-file")
    both = {m.name for m in config_models} & {m.name for m in db_models}
    if both:
        raise UsageError(f"--db-models-from {db_models_from}: {sorted(both)[0]!r} is in the config's model_list too; a model is one or the other")
    settings, overrides = {}, []
    for section, value in data.items():
        if section == "model_list":
            continue
        if section in _DROPPED_SECTIONS:
            overrides.append(f"{section}: {_DROPPED_SECTIONS[section]}")
            continue
        value = copy.deepcopy(value)
        if isinstance(value, dict):
            for key, why in _STACK_OWNED.get(section, {}).items():
                if key in value:
                    del value[key]
                    overrides.append(f"{section}.{key}: {why}")
        settings[section] = value
    for key, val in (scenario_general or {}).items():
        if settings.get("general_settings", {}).get(key, val) != val:
            overrides.append(f"general_settings.{key}: {val!r}, as the scenario needs")
    for m in (*config_models, *db_models):
        overrides.append(f"model {m.name}: api_base and credentials -> the fake upstream (provider {m.provider} kept)")
    return UserConfig(Path(path), settings, config_models, db_models, overrides, sanitize(data))
