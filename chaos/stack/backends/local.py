"""The `local` backend: the whole incident stack as processes on 127.0.0.1, no Docker.

    worker-N --(Toxiproxy link worker-N-to-haproxy)--> HAProxy --(link haproxy-to-postgres)--> PostgreSQL
    worker-N --> fake upstream (the LLM provider)

Start order: PostgreSQL (+ schema job), HAProxy, Toxiproxy and the upstream in parallel; then
the workers in parallel; then the seed models. Every process is in its own process group and
tagged with the run id (chaos.host.procs), so nothing outlives teardown. The rest is shared with the
compose backend (supervised.py)."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from chaos.errors import StackStartError
from chaos.host.binaries import LOCAL_STACK_BINARIES
from chaos.host.cpu_limit import CpuLimits
from chaos.host.paths import SOURCE_ROOT
from chaos.host.ports import HOST
from chaos.host.procs import ManagedProcess, kill_pids, pids_of_run, wait_gone
from chaos.host.waiting import wait_until
from chaos.litellm.env import LiteLLMEnv, ensure_env, env_from_venv
from chaos.run.events import Event
from chaos.stack.components.front_door import LocalFrontDoor
from chaos.stack.components.haproxy import HAProxy
from chaos.stack.components.litellm_worker import LiteLLMWorker, WorkerSettings, worker_environment
from chaos.stack.components.model_reads import ModelReadWatcher
from chaos.stack.components.postgres import PostgresCluster
from chaos.stack.components.schema import apply_migrations, store_model_in_db_setting
from chaos.stack.components.toxiproxy import PG_LINK, ToxiproxyServer, worker_link
from chaos.stack.components.worker_template import ForkedProcess, template_process, wait_template
from chaos.stack.supervised import SupervisedStack, worker_name


class LocalStack(SupervisedStack):
    backend = "local"

    def _check_prerequisites(self) -> None:
        for binary in LOCAL_STACK_BINARIES:
            binary.require()
        if self.config.cpu_limit is not None:  # refused here (one line) when this machine cannot set it
            self.cpu_limits = CpuLimits.for_run(self.config.cpu_limit, self.run_id)

    def _litellm_env(self) -> LiteLLMEnv:
        if self.config.litellm_venv:
            return env_from_venv(self.config.litellm_venv)
        return ensure_env(self.config.litellm_version, log=self.log)

    def _port_names(self) -> list[str]:
        names = ["postgres", "haproxy", "toxiproxy-api", "upstream", f"link:{PG_LINK}", "front-door"]
        for name in self._worker_names():
            names += [name, f"link:{worker_link(name)}"]
        return names

    def _new_worker(self, name: str, settings: WorkerSettings) -> LiteLLMWorker:
        worker = LiteLLMWorker.local(name, self.ports[name], self.ports[f"link:{worker_link(name)}"], settings,
                                     self.run_dir, self.run_id, self.log_dir)
        if self.cpu_limits:
            self.cpu_limits.create(name)
        cold = worker.process
        if self._forks():
            procs = self.cpu_limits.group(name) / "cgroup.procs" if self.cpu_limits else None
            worker.process = ForkedProcess(name, cold.argv, cold.log_path, env=cold.env, run_id=self.run_id,
                                           template=self._template_for(settings), cgroup_procs=procs)
        elif self.cpu_limits:
            cold.argv = self.cpu_limits.wrap(name, cold.argv)
        return worker

    def _forks(self) -> bool:
        """Fast starts, unless the LiteLLM is the user's own virtualenv (a patched build may keep
        per-process state from its import: it gets true cold starts)."""
        return self.config.fast_start and self.env.origin != "external"

    def _start_template(self, settings: WorkerSettings) -> None:
        """Start the stack's start template (it imports LiteLLM), once; started with the
        infrastructure, so the import overlaps PostgreSQL's start and the schema."""
        if self._forks() and self._template is None:
            env = {k: v for k, v in worker_environment(settings, "").items() if k != "DATABASE_URL"}
            self._template = template_process(self.env.bin_dir / "python", self.run_dir, self.log_dir, env, self.run_id)
            self._infra.append(self._template)
            self._template.start()
            self.save_state()

    def _template_for(self, settings: WorkerSettings) -> ManagedProcess:
        """The stack's start template, once it has imported LiteLLM."""
        self._start_template(settings)
        wait_template(self._template)
        return self._template

    def worker_start(self) -> str:
        if self._forks():
            return "fork: each start forks a template that imported LiteLLM once (LiteLLM's startup runs in the new process)"
        why = " (--litellm-venv: always cold)" if self.config.fast_start else " (--cold-start)"
        return f"cold: a new interpreter per start{why}"

    def _stop_infra(self) -> None:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda p: p.stop(5), reversed(self._infra)))
        stragglers = pids_of_run(self.run_id)  # e.g. a Prisma engine that left its process group
        kill_pids(stragglers)
        wait_gone(stragglers, 5)
        if self.cpu_limits:
            self.cpu_limits.remove()

    def _start_front_door(self) -> None:
        self.front_door = LocalFrontDoor(self.config.front_door, self.run_dir, self.ports["front-door"],
                                         {w: self.ports[w] for w in self._worker_names()}, self.run_id, self.log_dir)
        self._infra.append(self.front_door.process)
        self.front_door.start()
        self.save_state()

    def _start_infra(self) -> None:
        p = self.ports
        self.postgres = PostgresCluster(self.run_dir, p["postgres"], self.run_id, self.log_dir)
        self.haproxy = HAProxy(self.run_dir, p["haproxy"], p[f"link:{PG_LINK}"], self.run_id, self.log_dir)
        links = {PG_LINK: (p[f"link:{PG_LINK}"], p["postgres"])}
        for name in self._worker_names():
            links[worker_link(name)] = (p[f"link:{worker_link(name)}"], p["haproxy"])
        self.toxiproxy = ToxiproxyServer(self.run_dir, p["toxiproxy-api"], links, self.run_id, self.log_dir)
        self.upstream_url = f"http://{HOST}:{p['upstream']}"
        upstream = ManagedProcess(
            "upstream",
            [sys.executable, "-m", "chaos.upstream", "--port", str(p["upstream"])],
            self.log_dir / "upstream.log",
            env=dict(os.environ, PYTHONPATH=str(SOURCE_ROOT)),
            run_id=self.run_id,
        )
        self._infra = [self.postgres.process, self.haproxy.process, self.toxiproxy.process, upstream]
        self._start_template(self._worker_settings())

        def postgres_and_schema() -> None:
            self.postgres.init()
            self.postgres.start()
            self.save_state()
            self.postgres.create_database()
            n = apply_migrations(self.postgres.dsn(), self.env.migrations_dir)
            self.events.record(Event.SCHEMA_APPLIED, migrations=n, source=str(self.env.migrations_dir))
            if self.config.store_model_in_db_source == "db":
                store_model_in_db_setting(self.postgres.dsn())

        def start_upstream() -> None:
            upstream.start()
            self.save_state()
            _wait_http(f"{self.upstream_url}/health", upstream, "fake upstream", 15)

        steps = {
            "postgres": postgres_and_schema,
            "haproxy": self.haproxy.start,
            "toxiproxy": self.toxiproxy.start,
            "upstream": start_upstream,
        }
        with ThreadPoolExecutor(len(steps)) as pool:
            futures = {name: pool.submit(fn) for name, fn in steps.items()}
            errors = [f.exception() for f in futures.values() if f.exception()]
        self.save_state()
        if errors:
            raise errors[0]
        # The whole DB path must work before a worker starts: HAProxy sees its server UP through
        # Toxiproxy, and a query passes over a worker's link.
        if not self.haproxy.wait_server_status("UP", 10):
            raise StackStartError(f"HAProxy never marked PostgreSQL UP; log tail:\n{self.haproxy.process.log_tail()}")
        first_link = self.ports[f"link:{worker_link(worker_name(1))}"]
        with psycopg.connect(self.postgres.dsn(port=first_link), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
        self.events.record(Event.INFRA_READY, ports=dict(self.ports))
        self._model_reads = ModelReadWatcher(self.log_dir / "postgres.log", self.events).start()


def _wait_http(url: str, process: ManagedProcess, what: str, timeout: float) -> None:
    wait_until(lambda: httpx.get(url, timeout=1).status_code == 200, timeout, give_up=lambda: not process.running(),
               fail=lambda: StackStartError(f"{what} did not answer {url}; log tail:\n{process.log_tail()}"))
