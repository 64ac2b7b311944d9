"""What every backend's stack shares: the run's identity, keys, ports, registry entry, events;
its start (infrastructure, workers under one supervisor and restart policy, the seed models, the
model-read watcher) and teardown. The worker operations, the warm reset and the evidence are
mixins beside it (worker_ops.py, reset.py, run_evidence.py). A
backend (local.py: processes; compose.py: containers) says how each component runs, through the
hooks, and every component behaves the same behind them (ManagedProcess / ContainerProcess).
Teardown cannot be skipped: the run is in the registry from its first moment, and close() runs on
normal exit, exceptions and (through the CLI) SIGINT/SIGTERM."""

from __future__ import annotations

import abc
import os
import secrets
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from chaos.errors import UsageError
from chaos.evidence import layout
from chaos.evidence.redaction import Redactor, new_key
from chaos.host import registry, watchdog
from chaos.host.cpu_limit import CpuLimits
from chaos.host.paths import runs_dir
from chaos.host.ports import HOST, pick_free_ports, ports_from_base
from chaos.host.procs import proc_start_ticks
from chaos.litellm.env import LiteLLMEnv, prisma_engine_description
from chaos.run.events import Event, EventLog
from chaos.stack.base import HAProxyHandle, PostgresHandle, Process, Stack, ToxiproxyHandle, WorkerState
from chaos.stack.components import db_state, seed
from chaos.stack.components.front_door import FrontDoor
from chaos.stack.components.litellm_worker import LiteLLMWorker, WorkerSettings
from chaos.stack.components.model_reads import ModelReadWatcher
from chaos.stack.config import StackConfig
from chaos.stack.reset import WarmReset
from chaos.stack.restarts import Supervisor
from chaos.stack.run_evidence import RunEvidence
from chaos.stack.worker_ops import WorkerOperations
from chaos.traffic.litellm_api import LiteLLMClient


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def worker_name(index: int) -> str:
    return f"worker-{index}"


class SupervisedStack(WorkerOperations, WarmReset, RunEvidence, Stack):
    """The parts every backend shares; a backend supplies the hooks below (how components run).
    Its worker operations, warm reset and evidence are in worker_ops.py, reset.py and
    run_evidence.py."""

    backend = "?"
    # a worker's port is a proxy that accepts and resets while nothing listens behind it (compose)
    port_proxy_resets = False
    started_here = 0  # stacks this process started (an interrupted command says what it stopped)

    def __init__(self, config: StackConfig | None = None, *, log=None):
        self.config = (config or StackConfig()).validate()
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self.run_id = new_run_id()
        self.run_dir = runs_dir() / self.run_id
        self.log_dir = self.run_dir / layout.LOGS
        self.master_key = new_key()
        self.salt_key = new_key()
        self._redactor = Redactor(self.master_key, self.salt_key)
        self.events = EventLog()
        self.env: LiteLLMEnv | None = None
        self.ports: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self.status = "new"
        self.evidence_path: Path | None = None
        self._lock = threading.RLock()
        self._workers: dict[str, LiteLLMWorker] = {}
        self._infra: list[Process] = []  # the infrastructure's processes
        self._supervisor: Supervisor | None = None
        self._model_reads: ModelReadWatcher | None = None
        self._watchdog = None  # chaos.host.watchdog's process, from the registry entry on
        self._template: Process | None = None  # the fast-start template (local backend, unless --cold-start)
        self._closed = False
        self._kept = False  # kept up for inspection: no harness owns it
        # each backend's handles, same attributes (faults use them)
        self.postgres: PostgresHandle | None = None
        self.haproxy: HAProxyHandle | None = None
        self.toxiproxy: ToxiproxyHandle | None = None
        self.upstream_url = ""
        self.front_door: FrontDoor | None = None  # when config.front_door.enabled
        self.cpu_limits: CpuLimits | None = None  # when config.cpu_limit is set (local backend)

    # ------------------------------------------------------------------ start
    def start(self) -> "SupervisedStack":
        SupervisedStack.started_here += 1
        t0 = time.monotonic()
        self._check_prerequisites()  # a missing binary is a one-line error before anything starts
        self.env = self._litellm_env()
        self.timings["environment_s"] = round(time.monotonic() - t0, 3)
        self._reserve()
        self._watchdog = watchdog.start(self.run_id)  # tears the run down if this process dies
        self.events = EventLog(self.run_dir / layout.EVENTS)
        self.status = "starting"
        self.save_state()

        t1 = time.monotonic()
        self._start_infra()
        self.timings["infra_s"] = round(time.monotonic() - t1, 3)

        if self.config.seed_models and self.config.seed_via == "db":  # before any worker: all load them at start
            specs = self.config.db_specs()
            seed.write_rows(self.postgres.dsn(), seed.db_rows(specs, self.upstream_url, self.salt_key))
            self.events.record(Event.MODELS_SEEDED, via="db", models=[m.name for m in specs])

        t2 = time.monotonic()
        self._start_workers()
        self.timings["workers_s"] = round(time.monotonic() - t2, 3)
        if self.config.front_door.enabled:
            # as a Service gets its endpoints when the pods are ready: every worker is, here
            self._start_front_door()
            self.front_door.wait_all_up(self._worker_names(), self.config.front_door.period_s + 10)
            self.events.record(Event.FRONT_DOOR_READY, url=self.front_door.url)

        if self.config.seed_models:
            t3 = time.monotonic()
            self._seed()
            self.timings["seed_s"] = round(time.monotonic() - t3, 3)
        self._db_state = db_state.snapshot(self.postgres.dsn())  # what a reset between runs restores
        self.timings["total_s"] = round(time.monotonic() - t0, 3)
        self.status = "ready"
        self.save_state()
        return self

    def redact(self, text: str) -> str:
        return self._redactor(text)

    # ------------------------------------------------------------------ backend hooks
    @abc.abstractmethod
    def _check_prerequisites(self) -> None:
        """A missing prerequisite is a one-line error before anything starts."""

    @abc.abstractmethod
    def _litellm_env(self) -> LiteLLMEnv:
        """The LiteLLM environment the workers run (a cached venv, --litellm-venv, an image's)."""

    @abc.abstractmethod
    def _port_names(self) -> list[str]:
        """The ports to reserve (free ones, or from --base-port)."""

    @abc.abstractmethod
    def _start_infra(self) -> None:
        """PostgreSQL (+ schema), HAProxy, Toxiproxy, the upstream; sets postgres, haproxy,
        toxiproxy, upstream_url, _infra and starts the model-read watcher."""

    @abc.abstractmethod
    def _new_worker(self, name: str, settings: WorkerSettings) -> LiteLLMWorker:
        """A replica's lifecycle state around its process or container (not started)."""

    @abc.abstractmethod
    def _stop_infra(self) -> None:
        """Stop every infrastructure component; nothing may be left behind."""

    @abc.abstractmethod
    def _start_front_door(self) -> None:
        """The readiness-gated load balancer in front of the ready workers; sets front_door."""

    # ------------------------------------------------------------------ reserve
    def _reserve(self) -> None:
        """Pick the ports and create the run directory and registry entry, under the registry lock."""
        names = self._port_names()
        with registry.locked():
            if self.config.base_port is not None:
                taken = registry.reserved_ports() & set(range(self.config.base_port, self.config.base_port + len(names)))
                if taken:
                    raise UsageError(f"--base-port {self.config.base_port}: port {min(taken)} belongs to another chaos run; choose another")
                self.ports = ports_from_base(names, self.config.base_port)
            else:
                self.ports = pick_free_ports(names, exclude=registry.reserved_ports())
            self.log_dir.mkdir(parents=True)
            os.chmod(self.run_dir, 0o755)  # PostgreSQL runs as another user when we are root
            self.save_state()

    def _worker_names(self) -> list[str]:
        return [worker_name(i) for i in range(1, self.config.replicas + 1)]

    def _worker_settings(self) -> WorkerSettings:
        reload_s = self.config.reload_interval_s if self.env.reload_interval_configurable else self.env.reload_interval_s
        self.reload_interval_s = reload_s
        return WorkerSettings(
            env=self.env,
            master_key=self.master_key,
            salt_key=self.salt_key,
            general_settings={"allow_requests_on_db_unavailable": self.config.allow_requests_on_db_unavailable}
            | self.config.general_settings,
            worker_env=self.config.worker_env,
            reload_interval_s=reload_s,
            store_model_in_db_in_config=self.config.store_model_in_db_source == "config",
            user_settings=self.config.user_settings,
            model_list=tuple({"model_name": m.name, "litellm_params": m.litellm_params(self.upstream_url)}
                             for m in self.config.specs() if m.name in self.config.config_models),
        )

    def _start_workers(self) -> None:
        settings = self._worker_settings()
        with self._lock:
            for name in self._worker_names():
                self._workers[name] = self._new_worker(name, settings)
        self._supervisor = Supervisor(self._workers, self._lock, self.events, self.config.restart_policy, self.save_state,
                                      on_exit=self._take_out, on_spawn=self._admit)
        self._supervisor.start()
        for name in self._worker_names():
            self.start_worker(name)
        for name in self._worker_names():
            self.wait_ready(name)

    def _seed(self) -> None:
        """Seeded through the DB: check every worker serves them; through the API: create them on
        worker-1, then wait until every worker serves them (at its next reload at the latest)."""
        models = list(self.config.models)
        first = self._workers[worker_name(1)]
        # each pair is asked in turn: the bound grows with the pair count (140 models x 3 workers)
        pairs = len(models) * len(self._workers)
        bound = (15.0 if self.config.seed_via == "db" else 2 * self.reload_interval_s + 15) + 0.1 * pairs
        with LiteLLMClient(self.master_key, timeout=30) as client:
            if self.config.seed_via == "api":
                seed.create_models(client, first.url, self.config.db_specs(), self.upstream_url)
                self.events.record(Event.MODELS_CREATED, worker=first.name, models=models)
            took = seed.verify_everywhere(client, {n: w.url for n, w in self._workers.items()}, models, bound)
        self.events.record(Event.MODELS_VERIFIED, models=models, seconds=took)

    # ------------------------------------------------------------------ facts
    def describe(self) -> dict:
        env = self.env
        return {
            "run_id": self.run_id,
            "backend": self.backend,
            "run_dir": str(self.run_dir),
            "status": self.status,
            "litellm_version": env.version if env else self.config.litellm_version,
            "litellm_variant": env.variant if env else None,
            "litellm_env": env.describe() if env else None,
            "prisma_query_engine": prisma_engine_description(),
            "reload_interval_s": getattr(self, "reload_interval_s", None),
            "allow_requests_on_db_unavailable": self.config.allow_requests_on_db_unavailable,
            "models": list(self.config.models),
            "ports": dict(self.ports),
            "upstream_url": self.upstream_url,
            "front_door": None if self.front_door is None else {"url": self.front_door.url} | asdict(self.config.front_door),
            "cpu_limit_per_worker": self._cpu_limit_description(),
            "worker_start": self.worker_start() if env else None,
            "timings": dict(self.timings),
        }

    def worker_start(self) -> str:
        """How a worker start runs (recorded in the verdict): a backend with a fast path says so."""
        return "cold: a new container per start (this backend has no fast path)"

    def _cpu_limit_description(self) -> str:
        if self.cpu_limits:
            return self.cpu_limits.describe()
        return "none (no --cpu-limit: the workers share every core)"

    def throttled_s(self) -> dict[str, float]:
        """Seconds each worker was held back by its CPU limit so far (empty without a limit)."""
        if not self.cpu_limits:
            return {}
        return {name: round(s, 2) for name in self._worker_names() if (s := self.cpu_limits.throttled_s(name)) is not None}

    def save_state(self) -> None:
        """Write the registry entry: everything `chaos status` and `chaos down` need."""
        if self._closed:
            return
        entry = self.describe() | {
            "master_key": self.master_key,
            "harness_pid": None if self._kept else os.getpid(),
            "harness_start_ticks": None if self._kept else proc_start_ticks(os.getpid()),
            "processes": [p.record() for p in self._infra if p.pid]
            + [w.process.record() for w in self._workers.values() if w.process.pid],
            "workers": [
                {"name": w.name, "url": w.url, "pid": w.pid, "state": w.state.value, "spawns": w.spawns} for w in self.workers()
            ],
        }
        with registry.locked():
            registry.write(entry)

    # ------------------------------------------------------------------ teardown
    def _stop_watchers(self) -> None:
        if self._supervisor:
            self._supervisor.stop()
        if self._model_reads:
            self._model_reads.stop()

    def keep_for_inspection(self) -> None:
        """Leave the stack running after the harness ends (pytest --chaos-keep-stack): its evidence
        is copied now, no harness owns it any more, and `chaos down RUN_ID` tears it down."""
        self._stop_watchers()
        self._snapshot_toxiproxy()
        self._keep_evidence(failed=True)
        self.status = "kept"
        self._kept = True
        self.save_state()
        self._closed = True  # close() must not tear it down now
        self._stop_watchdog()  # no harness owns it now

    def inspection_hint(self) -> str:
        p = self.ports
        lines = [f"stack kept up for inspection: run {self.run_id}"]
        lines += [f"  {w.name}: {w.url}" for w in self.workers()]
        lines += [f"  PostgreSQL: postgresql://postgres@{HOST}:{p['postgres']}/litellm (via HAProxy: port {p['haproxy']})",
                  f"  Toxiproxy API: http://{HOST}:{p['toxiproxy-api']}  upstream: {self.upstream_url}",
                  f"  master key: `chaos status {self.run_id} --json` (never printed in reports or logs)",
                  f"  tear down: chaos down {self.run_id}"]
        return "\n".join(lines)

    def close(self, failed: bool = False) -> None:
        if self._closed:
            return
        self.status = "stopping"
        self._stop_watchers()
        if self.config.keep_logs == "always" or failed:
            self._snapshot_toxiproxy()
        with self._lock:
            for worker in self._workers.values():
                worker.state = WorkerState.STOPPED
        # workers first (they hold DB connections), then the infrastructure
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda w: w.process.stop(5), self._workers.values()))
        self._stop_infra()
        self._keep_evidence(failed)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        with registry.locked():
            registry.remove(self.run_id)
        self._stop_watchdog()
        self._closed = True
        self.status = "failed" if failed else "stopped"

    def _stop_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.terminate()
            self._watchdog.wait(5)

