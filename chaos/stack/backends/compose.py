"""The `compose` backend: the local backend's stack as Docker Compose services
(compose/docker-compose.yml), with the official images by default or the ones `chaos images
build` makes (`images="local"`).

Everything above the components is shared with the local backend (chaos/stack/local.py): the
same restart policy and readiness watch (the harness supervises the replicas on both backends),
the same seeding, events, model-read watcher, evidence and registry. What differs is how a
component runs: a container behind ContainerProcess instead of a local process. Driven through
testcontainers' DockerCompose (up, down) and the docker SDK (start, stop, kill, pause one
container, logs). Every container carries the run's label and the project is unique per run, so
teardown and `chaos down --all` find them, also after a harness crash."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import tarfile
from pathlib import Path

from chaos.errors import PrerequisiteMissing, StackStartError, UsageError
from chaos.host.binaries import TOXIPROXY_TAG
from chaos.host.docker_env import compose_cli, docker_client, image_exists
from chaos.host.paths import SOURCE_ROOT
from chaos.host.ports import HOST
from chaos.host.waiting import wait_until
from chaos.litellm.env import HARD_CODED_RELOAD_INTERVAL_S, INSPECT_SCRIPT, RELOAD_INTERVAL_ENV, LiteLLMEnv
from chaos.run.events import Event
from chaos.stack.backends.container import ContainerProcess
from chaos.stack.backends.images import local_images
from chaos.stack.components.front_door import FrontDoor, front_door_config
from chaos.stack.components.haproxy import HAProxyRuntime, accepts
from chaos.stack.components.litellm_worker import LiteLLMWorker, WorkerSettings, litellm_config, litellm_environment
from chaos.stack.components.model_reads import ModelReadWatcher
from chaos.stack.components.postgres import PostgresEndpoint
from chaos.stack.components.schema import store_model_in_db_setting
from chaos.stack.components.toxiproxy import PG_LINK, ToxiproxyAPI, worker_link
from chaos.stack.supervised import SupervisedStack

# CHAOS_COMPOSE_FILE: run an edited copy (its folder must hold config/ as compose/ does)
COMPOSE_FILE = Path(os.environ.get("CHAOS_COMPOSE_FILE") or SOURCE_ROOT / "compose" / "docker-compose.yml")
COMPOSE_DIR = COMPOSE_FILE.parent
RUN_LABEL = "io.litellm-chaos.run"
MAX_COMPOSE_REPLICAS = 5  # services litellm-1..5 in the compose file
INFRA_SERVICES = ("postgres", "toxiproxy", "haproxy", "upstream")
FRONT_DOOR_SERVICE = "front-door"
IMAGE_VARS = {"postgres": "POSTGRES_IMAGE", "haproxy": "HAPROXY_IMAGE", "toxiproxy": "TOXIPROXY_IMAGE",
              "litellm": "LITELLM_IMAGE", "upstream": "UPSTREAM_IMAGE"}
# appended to INSPECT_SCRIPT: one container run tells both
_CHECK_RELOAD = f"""
import os, litellm
src = open(os.path.join(os.path.dirname(litellm.__file__), "proxy", "proxy_server.py")).read()
print("{RELOAD_INTERVAL_ENV}" in src)
"""


def official_images(litellm_version: str) -> dict[str, str]:
    return {
        "postgres": "postgres:15",
        "haproxy": "haproxy:2.6",
        "toxiproxy": f"ghcr.io/shopify/toxiproxy:{TOXIPROXY_TAG.lstrip('v')}",
        "litellm": f"ghcr.io/berriai/litellm-database:main-v{litellm_version}",
        "upstream": "litellm-chaos/upstream:latest",  # always this project's (chaos images build)
    }


def service_of(worker: str) -> str:
    return "litellm-" + worker.rsplit("-", 1)[1]


class ComposeHAProxy(HAProxyRuntime):
    def __init__(self, port: int, admin_port: int, process: ContainerProcess):
        super().__init__((HOST, admin_port))
        self.port = port
        self.process = process

    def start(self, timeout: float = 15.0) -> None:
        self.process.start()
        wait_until(lambda: accepts(self.port), timeout,
                   fail=lambda: StackStartError(f"HAProxy (compose) did not come back on {HOST}:{self.port}"))


class ComposeToxiproxy(ToxiproxyAPI):
    def __init__(self, api_port: int, process: ContainerProcess, workers: list[str]):
        super().__init__(api_port)
        self.process = process
        # proxy -> (listen port on this host, upstream): the links listen inside the project's network
        self.links = {PG_LINK: (None, None)} | {worker_link(w): (None, None) for w in workers}


class ComposeStack(SupervisedStack):
    backend = "compose"
    port_proxy_resets = True  # Docker's docker-proxy publishes the workers' ports

    def __init__(self, config=None, *, log=None):
        super().__init__(config, log=log)
        if self.config.replicas > MAX_COMPOSE_REPLICAS:
            raise UsageError(f"--replicas {self.config.replicas}: the compose file defines {MAX_COMPOSE_REPLICAS} replicas at most")
        self.project = f"chaos-{self.run_id}"
        self.client = None
        images = local_images if self.config.images == "local" else official_images
        self.images = images(self.config.litellm_version)

    # ------------------------------------------------------------------ backend hooks
    def _check_prerequisites(self) -> None:
        self.client = docker_client()
        self._check_compose_file(compose_cli())
        for service, image in self.images.items():
            if not image_exists(self.client, image):
                self._pull(service, image)

    def _check_compose_file(self, compose: list[str]) -> None:
        if not COMPOSE_FILE.is_file():
            raise UsageError(f"compose file {COMPOSE_FILE} does not exist")
        # `config` parses and validates the whole file; --services lists what it defines
        check = subprocess.run([*compose, "-f", str(COMPOSE_FILE), "--profile", f"replicas-{MAX_COMPOSE_REPLICAS}", "config", "--services"],
                               capture_output=True, text=True, cwd=COMPOSE_DIR, stdin=subprocess.DEVNULL)
        if check.returncode != 0:
            raise UsageError(f"compose file {COMPOSE_FILE} is invalid: {_last_line(check.stderr) or 'docker compose config failed'}")
        services = set(check.stdout.split())
        missing = sorted({*INFRA_SERVICES, "schema", FRONT_DOOR_SERVICE, *(service_of(w) for w in self._worker_names())} - services)
        if missing:
            raise UsageError(f"compose file {COMPOSE_FILE} lacks service(s) {missing}; the compose backend needs them")

    def _pull(self, service: str, image: str) -> None:
        import docker

        try:
            self.client.images.pull(image)
        except docker.errors.DockerException as exc:
            reason = str(exc).splitlines()[0][:160]
            raise PrerequisiteMissing(
                f"image {image} ({service}) is not on this machine and could not be pulled ({reason}); "
                f"build interface-compatible ones with `chaos images build` and use --images local") from None

    def _litellm_env(self) -> LiteLLMEnv:
        """What the LiteLLM image holds, read by running its Python (not its entrypoint)."""
        image = self.images["litellm"]
        facts_line, reload_line = self._python_in(image, INSPECT_SCRIPT + _CHECK_RELOAD).strip().splitlines()[-2:]
        facts = json.loads(facts_line)
        if facts["litellm"] != self.config.litellm_version:
            raise UsageError(f"image {image} holds LiteLLM {facts['litellm']}, not {self.config.litellm_version}")
        configurable = reload_line == "True"
        root = Path(facts["litellm_dir"]).parents[3]  # <root>/lib/pythonX.Y/site-packages/litellm
        return LiteLLMEnv(
            version=facts["litellm"], root=root, bin_dir=root / "bin",
            prisma_client_version=facts["prisma"], proxy_extras_version=facts["proxy_extras"],
            schema_path=Path(facts["litellm_dir"]) / "proxy" / "schema.prisma",
            migrations_dir=Path(facts["extras_dir"]) / "migrations",  # inside the image; copied out at start
            reload_interval_s=HARD_CODED_RELOAD_INTERVAL_S, reload_interval_configurable=configurable,
            origin=f"image {image}",
        )

    def _python_in(self, image: str, code: str) -> str:
        out = self.client.containers.run(image, entrypoint=["python3", "-c", code], remove=True, labels={RUN_LABEL: self.run_id},
                                         network_disabled=True)
        return out.decode()

    def _port_names(self) -> list[str]:
        return ["postgres", "haproxy", "haproxy-admin", "toxiproxy-api", "upstream", "front-door", "front-door-admin",
                *self._worker_names()]

    def _new_worker(self, name: str, settings: WorkerSettings) -> LiteLLMWorker:
        process = ContainerProcess(self.client, self._container_name(service_of(name)), name, self.log_dir / f"{name}.log")
        return LiteLLMWorker(name, f"http://{HOST}:{self.ports[name]}", process)

    # ------------------------------------------------------------------ start
    def _container_name(self, service: str) -> str:
        return f"{self.project}-{service}-1"

    def _compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """docker compose with this run's project, env file and every replica's profile."""
        cmd = [*self._docker_compose().compose_command_property, "--profile", f"replicas-{MAX_COMPOSE_REPLICAS}", *args]
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=COMPOSE_DIR, stdin=subprocess.DEVNULL, timeout=timeout)
        if result.returncode != 0:
            why = _last_line(result.stderr or result.stdout) or f"exit {result.returncode}"
            raise StackStartError(f"docker compose {args[0]} failed: {self.redact(why)}")
        return result

    def _docker_compose(self, services: list[str] | None = None):
        from testcontainers.compose import DockerCompose

        return DockerCompose(context=COMPOSE_DIR, compose_file_name=COMPOSE_FILE.name, env_file=str(self.run_dir / "compose.env"),
                             services=services, wait=False)

    def _write_compose_env(self) -> None:
        settings = self._worker_settings()
        (self.run_dir / "litellm.yaml").write_text(litellm_config(settings))
        env_file = self.run_dir / "litellm.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in litellm_environment(settings).items()))
        front_door = self.run_dir / "front-door.cfg"
        front_door.write_text(front_door_config(self.config.front_door, "0.0.0.0:8080", "ipv4@0.0.0.0:9999",
                                                {w: f"{service_of(w)}:4000" for w in self._worker_names()}, docker_dns=True))
        values = {"COMPOSE_PROJECT_NAME": self.project, "CHAOS_RUN_ID": self.run_id,
                  "LITELLM_CONFIG": str(self.run_dir / "litellm.yaml"), "LITELLM_ENV_FILE": str(env_file),
                  "LITELLM_MIGRATIONS": str(self.run_dir / "migrations"), "FRONT_DOOR_CONFIG": str(front_door),
                  "LITELLM_CPUS": f"{self.config.cpu_limit or 0:g}"}
        values |= {IMAGE_VARS[service]: image for service, image in self.images.items()}
        port_vars = {"postgres": "POSTGRES", "haproxy": "HAPROXY", "haproxy-admin": "HAPROXY_ADMIN",
                     "toxiproxy-api": "TOXIPROXY_API", "upstream": "UPSTREAM"}
        for name, port in self.ports.items():
            values[f"CHAOS_PORT_{port_vars.get(name) or name.upper().replace('-', '_')}"] = str(port)
        compose_env = self.run_dir / "compose.env"
        compose_env.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        for path in (env_file, compose_env):  # they hold the run's keys
            os.chmod(path, 0o600)

    def _copy_migrations(self) -> None:
        """The image's own SQL migrations (its litellm-proxy-extras) for the schema job."""
        container = self.client.containers.create(self.images["litellm"], labels={RUN_LABEL: self.run_id})
        try:
            stream, _ = container.get_archive(str(self.env.migrations_dir))
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                tar.extractall(self.run_dir, filter="data")
        finally:
            container.remove(force=True)

    def _start_infra(self) -> None:
        self.upstream_url = "http://upstream:8000"  # as the workers reach it (config models point there)
        self._write_compose_env()
        self._copy_migrations()
        quiet = logging.getLogger("testcontainers.compose.compose")  # it logs the whole output of a failure
        level, quiet.level = quiet.level, logging.CRITICAL
        try:
            self._docker_compose(services=[*INFRA_SERVICES, "schema"]).start()
        except subprocess.CalledProcessError as exc:
            why = _last_line(exc.stderr.decode(errors="replace")) or str(exc)
            raise StackStartError(f"docker compose up failed: {self.redact(why)}") from None
        finally:
            quiet.setLevel(level)
        procs = {s: ContainerProcess(self.client, self._container_name(s), s, self.log_dir / f"{s}.log") for s in INFRA_SERVICES}
        for proc in procs.values():
            proc.follow_logs(since=1)  # all of it
        self.postgres = PostgresEndpoint(self.ports["postgres"], procs["postgres"])
        self.haproxy = ComposeHAProxy(self.ports["haproxy"], self.ports["haproxy-admin"], procs["haproxy"])
        self.toxiproxy = ComposeToxiproxy(self.ports["toxiproxy-api"], procs["toxiproxy"], self._worker_names())
        self._infra = list(procs.values())
        self.save_state()
        self._wait_infra()
        if self.config.store_model_in_db_source == "db":
            store_model_in_db_setting(self.postgres.dsn())
        if not self.haproxy.wait_server_status("UP", 20):
            raise StackStartError(f"HAProxy never marked PostgreSQL UP; log tail:\n{self.haproxy.process.log_tail()}")
        self._model_reads = ModelReadWatcher(self.log_dir / "postgres.log", self.events).start()
        # the worker containers exist from here on; the supervisor starts them one by one
        self._compose("create", "--no-recreate", *[service_of(w) for w in self._worker_names()])
        self.events.record(Event.INFRA_READY, ports=dict(self.ports), project=self.project)

    def _start_front_door(self) -> None:
        self._compose("up", "-d", "--no-deps", FRONT_DOOR_SERVICE)
        process = ContainerProcess(self.client, self._container_name(FRONT_DOOR_SERVICE), FRONT_DOOR_SERVICE,
                                   self.log_dir / "front-door.log")
        process.follow_logs(since=1)
        self._infra.append(process)
        # docker-proxy accepts on the published port before HAProxy listens: the runtime API's
        # answers (wait_all_up) are what tells that it is up
        self.front_door = FrontDoor((HOST, self.ports["front-door-admin"]), f"http://{HOST}:{self.ports['front-door']}", process)
        self.save_state()

    def _wait_infra(self, timeout: float = 120.0) -> None:
        """Every infra service healthy and the schema job done (exit 0)."""
        def job():
            return self.client.containers.get(self._container_name("schema"))

        def states() -> dict:
            return {s: self._health(s) for s in INFRA_SERVICES} | {"schema": job().attrs["State"]["Status"]}

        def failed_job() -> bool:
            state = job().attrs["State"]
            return state["Status"] == "exited" and state["ExitCode"] != 0

        def fail() -> StackStartError:
            if failed_job():
                logs = job().logs(tail=10).decode(errors="replace")
                return StackStartError(f"the schema job failed (exit {job().attrs['State']['ExitCode']}):\n{self.redact(logs)}")
            return StackStartError(f"compose services not healthy within {timeout:.0f} s: {states()}")

        def done() -> bool:
            now = states()
            return now.pop("schema") == "exited" and not failed_job() and set(now.values()) == {"healthy"}

        wait_until(done, timeout, interval=0.25, give_up=failed_job, fail=fail)
        migrations = job().logs().decode(errors="replace").strip()
        self.events.record(Event.SCHEMA_APPLIED, source=f"{self.images['litellm']}:{self.env.migrations_dir}", job=migrations[-200:])

    def _health(self, service: str) -> str:
        import docker

        try:
            state = self.client.containers.get(self._container_name(service)).attrs["State"]
        except docker.errors.NotFound:
            return "missing"
        return state.get("Health", {}).get("Status") or state.get("Status", "?")

    # ------------------------------------------------------------------ teardown
    def _stop_infra(self) -> None:
        if self.client is None:  # the engine was never reached: nothing was created
            return
        if (self.run_dir / "compose.env").exists():  # compose up was at least attempted
            try:
                self._compose("down", "--volumes", "--remove-orphans", "--timeout", "5", timeout=120)
            except (StackStartError, subprocess.TimeoutExpired) as exc:
                self.log(f"{exc}; removing the run's containers by label")
        remove_run_containers(self.client, self.run_id)

    def _cpu_limit_description(self) -> str:
        if self.config.cpu_limit:
            return f"{self.config.cpu_limit:g} CPU per worker (compose `cpus:`)"
        return super()._cpu_limit_description()

    def describe(self) -> dict:
        return super().describe() | {"compose_project": self.project, "images": dict(self.images)}


def remove_run_containers(client, run_id: str) -> list[str]:
    """Every container and network of a run, found by label (also after a harness crash)."""
    import docker

    removed = []
    for container in client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"}):
        try:
            container.remove(force=True, v=True)
            removed.append(container.name)
        except docker.errors.NotFound:
            pass
    for network in client.networks.list(filters={"label": f"com.docker.compose.project=chaos-{run_id}"}):
        try:
            network.remove()
            removed.append(f"network {network.name}")
        except docker.errors.DockerException:
            pass
    return removed


def _last_line(text: str) -> str:
    """The last non-empty line of a command's output: what docker compose says went wrong."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""
