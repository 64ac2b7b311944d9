"""The compose backend against a real Docker engine (started here when none runs) with the locally
built images (`chaos images build`) and real LiteLLM in DB mode: the stack, one replica's
lifecycle, faults on containers, teardown after a harness crash, and bad input."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

import httpx
import psycopg
import pytest

from chaos.faults import make_fault
from chaos.host import registry
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION
from chaos.stack import StackConfig
from chaos.stack.backends.compose import RUN_LABEL, ComposeStack

from .helpers import ROOT, leftovers, run_cli

pytestmark = pytest.mark.stack


def run_containers(client, run_id: str) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})]


@pytest.fixture(scope="module")
def images(chaos_compose_images):
    chaos_compose_images([DEFAULT_LITELLM_VERSION])


@pytest.fixture(scope="module")
def stack(images):
    s = ComposeStack(StackConfig(replicas=2, images="local", models=("m1", "m2")))
    with s:
        yield s
    assert run_containers(s.client, s.run_id) == []
    assert leftovers(s.run_id, list(s.ports.values())) == []


def chat(stack, worker: str, model: str = "m1", timeout: float = 10) -> int:
    resp = httpx.post(f"{stack.worker_url(worker)}/v1/chat/completions", timeout=timeout,
                      headers={"Authorization": f"Bearer {stack.master_key}"},
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}]})
    return resp.status_code


def test_compose_stack_serves_every_model_on_every_replica(stack):
    assert [chat(stack, w, m) for w in ("worker-1", "worker-2") for m in ("m1", "m2")] == [200] * 4
    what = stack.describe()
    assert what["backend"] == "compose" and what["litellm_version"] == DEFAULT_LITELLM_VERSION
    assert what["images"]["litellm"] == f"litellm-chaos/litellm-database:{DEFAULT_LITELLM_VERSION}"
    assert what["prisma_query_engine"] and what["compose_project"] == f"chaos-{stack.run_id}"
    names = run_containers(stack.client, stack.run_id)
    assert {f"chaos-{stack.run_id}-{s}-1" for s in ("postgres", "haproxy", "toxiproxy", "upstream", "litellm-1", "litellm-2")} <= set(names)
    for container in stack.client.containers.list(filters={"label": f"{RUN_LABEL}={stack.run_id}"}):
        bindings = [b for ports in container.attrs["NetworkSettings"]["Ports"].values() if ports for b in ports]
        assert all(b["HostIp"] == "127.0.0.1" for b in bindings), (container.name, bindings)
        assert container.attrs["HostConfig"]["Init"] is True, container.name
    # the model reloads of each replica are seen in PostgreSQL's log (application_name)
    assert stack.events.wait_for("model_table_read", 30, worker="worker-2") is not None
    assert "Uvicorn running" in (stack.log_dir / "worker-1.log").read_text() or "Application startup complete" in (stack.log_dir / "worker-1.log").read_text()


def test_one_replica_stops_kills_and_pauses_alone(stack):
    stack.stop_worker("worker-2")
    with pytest.raises(httpx.HTTPError):
        chat(stack, "worker-2", timeout=3)
    assert chat(stack, "worker-1") == 200  # the other replica is untouched
    stack.start_worker("worker-2")
    stack.wait_ready("worker-2", 120)
    assert chat(stack, "worker-2") == 200

    since = time.monotonic()
    stack.kill_worker("worker-2")  # a crash: the restart policy brings it back
    assert stack.events.wait_for("worker_spawned", 30, after=since, worker="worker-2") is not None
    stack.wait_ready("worker-2", 120)

    stack.pause_worker("worker-2")
    try:
        with pytest.raises(httpx.TimeoutException):
            chat(stack, "worker-2", timeout=2)
    finally:
        stack.resume_worker("worker-2")
    assert chat(stack, "worker-2") == 200


def test_faults_on_compose_services(stack):
    # Toxiproxy link: worker-1 loses its DB path, the API says so
    fault = make_fault({"kind": "link_down", "link": "worker-1"}, stack)
    fault.apply()
    with stack.toxiproxy.api() as api:
        assert api.get_proxy("worker-1-to-haproxy").enabled is False
    fault.heal()
    # HAProxy's runtime API over its published admin port
    fault = make_fault({"kind": "haproxy_server", "state": "maint"}, stack)
    fault.apply()
    assert stack.haproxy.server_status().startswith("MAINT")
    fault.heal()
    assert stack.haproxy.wait_server_status("UP", 10)
    # PostgreSQL's container stopped, then paused
    for kind in ("pg_stop", "pg_pause"):
        fault = make_fault({"kind": kind}, stack)
        fault.apply()
        try:
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(stack.postgres.dsn(), connect_timeout=2).close()
        finally:
            fault.heal()
        stack.postgres.wait_ready(30)
    assert stack.haproxy.wait_server_status("UP", 20)


def test_a_sigkilled_harness_leaves_no_container_without_a_manual_step(images):
    """The run's watchdog removes the compose project once its harness is gone."""
    out = run_cli("up", "--backend", "compose", "--images", "local", "--replicas", "1", "--detach", timeout=600)
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.split()[0]
    entry = json.loads(run_cli("status", run_id, "--json").stdout)
    ports = list(registry.read(run_id)["ports"].values())
    import docker

    client = docker.from_env()
    assert run_containers(client, run_id)
    os.kill(entry["harness_pid"], signal.SIGKILL)
    killed = time.monotonic()

    def left() -> list[str]:  # the watchdog removes containers, then processes, the run dir, the entry
        return run_containers(client, run_id) + leftovers(run_id, ports)

    while left() and time.monotonic() - killed < 60:
        time.sleep(0.5)
    assert left() == [], "nothing of the run may outlive its harness"
    assert client.networks.list(filters={"label": f"com.docker.compose.project=chaos-{run_id}"}) == []


def _one_line_error(out, code: int, *needles: str) -> None:
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_docker_not_reachable_is_one_line(tmp_path):
    out = run_cli("up", "--backend", "compose", env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    _one_line_error(out, 3, "Docker engine not reachable", "no.sock")


def test_an_image_that_does_not_exist_is_one_line_and_leaves_nothing(images):
    import docker

    before = {c.id for c in docker.from_env().containers.list(all=True)}
    out = run_cli("up", "--backend", "compose", "--litellm", "1.82.0")  # official images: no registry here
    _one_line_error(out, 3, "could not be pulled", "chaos images build")
    assert {c.id for c in docker.from_env().containers.list(all=True)} == before


def test_an_invalid_compose_file_is_one_line_and_leaves_nothing(images, tmp_path):
    import docker

    copy = tmp_path / "compose"
    shutil.copytree(ROOT / "compose", copy)
    (copy / "docker-compose.yml").write_text((copy / "docker-compose.yml").read_text().replace("services:", "services:\n  broken: [", 1))
    before = {c.id for c in docker.from_env().containers.list(all=True)}
    out = run_cli("up", "--backend", "compose", "--images", "local", env={"CHAOS_COMPOSE_FILE": str(copy / "docker-compose.yml")})
    _one_line_error(out, 2, "is invalid", str(copy / "docker-compose.yml"))
    assert {c.id for c in docker.from_env().containers.list(all=True)} == before
