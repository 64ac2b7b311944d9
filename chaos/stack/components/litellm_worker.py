"""One LiteLLM proxy replica: its config file, environment and process, and its lifecycle state."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from chaos.host.ports import HOST
from chaos.host.procs import ManagedProcess
from chaos.litellm.env import RELOAD_INTERVAL_ENV, LiteLLMEnv
from chaos.run.events import Event
from chaos.stack.base import WorkerState


@dataclass(frozen=True)
class WorkerSettings:
    """What every replica of a stack shares."""

    env: LiteLLMEnv
    master_key: str
    salt_key: str
    general_settings: dict
    worker_env: dict
    reload_interval_s: float
    store_model_in_db_in_config: bool = True
    user_settings: dict = field(default_factory=dict)  # the user's config sections (what the stack owns removed)
    model_list: tuple = ()  # config models: {"model_name", "litellm_params"} pointed at the fake upstream


def litellm_config(settings: WorkerSettings) -> str:
    """The proxy's config file: the user's settings (if any) under the stack's own. JSON is valid
    YAML, so no YAML writer is needed."""
    config = json.loads(json.dumps(settings.user_settings))  # a deep copy
    general = config.setdefault("general_settings", {})
    general["master_key"] = "os.environ/LITELLM_MASTER_KEY"
    if settings.store_model_in_db_in_config:
        general["store_model_in_db"] = True
    general |= settings.general_settings
    config.setdefault("litellm_settings", {})["telemetry"] = False
    config["model_list"] = list(settings.model_list)
    return json.dumps(config, indent=2)


def litellm_environment(settings: WorkerSettings) -> dict[str, str]:
    """The LiteLLM variables of every replica, on both backends (DATABASE_URL is per replica)."""
    env = {
        "LITELLM_MASTER_KEY": settings.master_key,
        "LITELLM_SALT_KEY": settings.salt_key,
        "DISABLE_SCHEMA_UPDATE": "true",  # the schema job applied the migrations
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no cost-map fetch from the internet
        RELOAD_INTERVAL_ENV: str(int(settings.reload_interval_s)),
        "PYTHONUNBUFFERED": "1",
        "LITELLM_TELEMETRY": "False",
        "TZ": "UTC",  # its HH:MM:SS log stamps line up with the report's clock
    }
    if settings.store_model_in_db_in_config:
        env["STORE_MODEL_IN_DB"] = "True"
    return env | {k: str(v) for k, v in settings.worker_env.items()}


def worker_environment(settings: WorkerSettings, database_url: str) -> dict[str, str]:
    """A local replica's whole environment: the harness's, LiteLLM's variables, its DB URL."""
    env = dict(os.environ) | litellm_environment(settings) | {"DATABASE_URL": database_url}
    env["PATH"] = f"{settings.env.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"  # 1.82.3 runs `prisma`
    return env


def database_url(worker: str, host: str, port: int) -> str:
    # the application name tags this worker's statements in PostgreSQL's log (model_reads)
    return f"postgresql://postgres@{host}:{port}/litellm?application_name={worker}"


class LiteLLMWorker:
    """A replica's lifecycle state around its process: a local ManagedProcess or a compose
    service's ContainerProcess (same interface)."""

    def __init__(self, name: str, url: str, process):
        self.name = name
        self.url = url
        self.process = process
        self.state = WorkerState.STOPPED
        self.paused_from = WorkerState.STOPPED  # the state to return to on resume
        self.spawns = 0
        self.spawned_at = 0.0
        self.live_spawn = 0  # the spawn whose process was seen listening (worker_live)
        self.consecutive_crashes = 0
        self.restart_due = 0.0  # monotonic time of the pending restart, in BACKOFF

    @classmethod
    def local(cls, name: str, port: int, db_port: int, settings: WorkerSettings, run_dir: Path, run_id: str,
              log_dir: Path) -> "LiteLLMWorker":
        """A replica as a local process; db_port is its own Toxiproxy link to HAProxy."""
        config_path = run_dir / f"{name}.config.yaml"
        config_path.write_text(litellm_config(settings))
        process = ManagedProcess(
            name,
            [str(settings.env.litellm_bin), "--config", str(config_path), "--host", HOST, "--port", str(port), "--num_workers", "1"],
            log_dir / f"{name}.log",
            env=worker_environment(settings, database_url(name, HOST, db_port)),
            run_id=run_id,
        )
        return cls(name, f"http://{HOST}:{port}", process)

    def schedule_restart(self, policy, events) -> None:
        """After an exit that was not on purpose: restart after the policy's backoff. A worker
        that stayed up policy.reset_after_s starts the crash count afresh."""
        uptime = time.monotonic() - self.spawned_at
        self.consecutive_crashes = 1 if uptime >= policy.reset_after_s else self.consecutive_crashes + 1
        delay = policy.backoff(self.consecutive_crashes)
        self.restart_due = time.monotonic() + delay
        self.state = WorkerState.BACKOFF
        events.record(Event.WORKER_BACKOFF, worker=self.name, delay_s=delay, consecutive_crashes=self.consecutive_crashes)

    def spawn(self) -> None:
        self.process.start()
        self.spawns += 1
        self.spawned_at = time.monotonic()
        self.state = WorkerState.STARTING
