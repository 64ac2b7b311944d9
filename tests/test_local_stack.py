"""The local stack with real components: PostgreSQL behind HAProxy, Toxiproxy on every DB link,
LiteLLM replicas in database mode, the fake upstream. No mocks of the system under test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from chaos import LocalStack, RestartPolicy, StackConfig, WorkerNotReady
from chaos.host import registry
from chaos.host.paths import state_dir
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION
from chaos.stack import WorkerState
from chaos.traffic.litellm_api import LiteLLMClient, model_new_body

from .helpers import ROOT, leftovers, run_cli, status

pytestmark = pytest.mark.stack


def _client(master_key: str) -> LiteLLMClient:
    return LiteLLMClient(master_key, timeout=30)


def _wait_served(client, urls: list[str], model: str, timeout: float) -> dict[str, float]:
    """Seconds until each worker answers a chat completion for `model` with 200."""
    start, served = time.monotonic(), {}
    while len(served) < len(urls):
        for url in urls:
            if url not in served and client.chat(url, model).status_code == 200:
                served[url] = round(time.monotonic() - start, 2)
        assert time.monotonic() - start < timeout, f"{model} not served on {set(urls) - set(served)} within {timeout} s"
        time.sleep(0.5)
    return served


def test_cli_up_model_new_on_every_replica_then_down(litellm_version):
    began = time.time()
    up = run_cli("up", "--detach", "--replicas", "3", "--litellm", litellm_version)
    assert up.returncode == 0, up.stderr + up.stdout
    run_id = up.stdout.split()[0]
    info = status(run_id)
    harness_log = up.stdout.strip().split("output in ")[-1]
    assert harness_log == f"{info['run_dir']}/harness.log"  # in the run's directory: removed with it
    try:
        assert info["litellm_version"] == litellm_version
        assert info["status"] == "ready"
        assert "PRISMA_QUERY_ENGINE_BINARY" in info["prisma_query_engine"] or "native" in info["prisma_query_engine"]
        assert [w["state"] for w in info["workers"]] == ["ready"] * 3
        urls = [w["url"] for w in info["workers"]]
        assert all(u.startswith("http://127.0.0.1:") for u in urls)
        entry_ports = list(registry.read(run_id)["ports"].values())
        with _client(info["master_key"]) as client:
            upstream = f"http://127.0.0.1:{registry.read(run_id)['ports']['upstream']}"
            created = client.model_new(urls[1], model_new_body("db-model-created-by-test", upstream))
            assert created.status_code == 200, created.text
            # other workers learn it at their next reload at the latest (30 s on 1.82.3)
            took = _wait_served(client, urls, "db-model-created-by-test", timeout=75)
            print(f"served on every replica after {took}")
            body = client.chat(urls[2], "db-model-created-by-test").json()
            assert body["id"].startswith("chatcmpl-") and "fake upstream" in body["choices"][0]["message"]["content"]
    finally:
        down = run_cli("down", run_id)
    assert down.returncode == 0, down.stderr
    assert leftovers(run_id, entry_ports) == []
    assert not [p for p in state_dir().glob("up-*.log") if p.stat().st_mtime >= began]  # nothing of `up --detach` left in $TMPDIR


@pytest.fixture(scope="module", params=["fork", "cold"])
def stack(request):
    """The worker operations below on the default start (a fork of the template); the cold start
    (--cold-start, --litellm-venv builds) on what differs with it: a start, a restart by the policy."""
    config = StackConfig(
        replicas=2,
        litellm_version=DEFAULT_LITELLM_VERSION,
        models=("gpt-4o-mini",),
        restart_policy=RestartPolicy(initial_backoff_s=0.5, max_backoff_s=2),
        fast_start=request.param == "fork",
    )
    s = LocalStack(config)
    with s:
        yield s
    assert leftovers(s.run_id, list(s.ports.values())) == []


def default_start_only(stack) -> None:
    """Operations that do not depend on how a process started (a stop, a signal, the policy's
    bookkeeping) are tested once, on the default start: CI's time goes elsewhere."""
    if not stack.config.fast_start:
        pytest.skip("the same code on a cold start; its own path is test_worker_crash_is_restarted_by_policy[cold]")


def test_worker_crash_is_restarted_by_policy(stack):
    before = stack.workers()[0]
    os.kill(before.pid, signal.SIGKILL)  # from outside: the worker "exits on its own"
    stack.events.wait_for("worker_restarted", 30, worker=before.name)
    stack.wait_ready(before.name, 90)
    after = stack.workers()[0]
    assert after.pid != before.pid and after.spawns == before.spawns + 1
    kinds = [e["kind"] for e in stack.events.events(worker=before.name)
             if e["t"] >= stack.events.events("worker_exited", worker=before.name)[-1]["t"] and e["kind"].startswith("worker_")]
    assert kinds[:3] == ["worker_exited", "worker_backoff", "worker_restarted"]
    with _client(stack.master_key) as client:
        assert client.chat(after.url, "gpt-4o-mini").status_code == 200


def test_waiting_on_a_worker_that_keeps_exiting_gives_up_at_the_third_exit(stack):
    default_start_only(stack)
    name = stack.workers()[0].name

    def current():
        return next(w for w in stack.workers() if w.name == name)

    def kill_next_spawns(after: int):  # each new process SIGKILLed as soon as it is spawned: a crash loop at start
        for _ in range(3):
            deadline = time.monotonic() + 30
            while current().spawns == after and time.monotonic() < deadline:
                time.sleep(0.05)
            after = current().spawns
            os.kill(current().pid, signal.SIGKILL)

    first, killed_at = current(), time.monotonic()
    os.kill(first.pid, signal.SIGKILL)
    assert stack.events.wait_for("worker_backoff", 30, after=killed_at, worker=name)  # no longer ready
    killer = threading.Thread(target=kill_next_spawns, args=(first.spawns,))
    killer.start()
    began = time.monotonic()
    with pytest.raises(WorkerNotReady) as err:
        stack.wait_ready(name, 300)
    killer.join()
    assert "crash loop at start" in str(err.value)
    assert time.monotonic() - began < 120  # at the third exit, not at the 300 s timeout
    stack.wait_ready(name, 120)  # the restart policy brings it back once nothing kills it


def test_worker_stopped_on_purpose_stays_stopped(stack):
    default_start_only(stack)
    name = stack.workers()[1].name
    stack.stop_worker(name)
    time.sleep(3)  # several supervisor rounds
    w = stack.workers()[1]
    assert w.state == WorkerState.STOPPED
    assert not stack.events.events("worker_restarted", worker=name)
    with pytest.raises(WorkerNotReady) as err:
        stack.wait_ready(name, 5)
    assert "stopped" in str(err.value) and "log tail" in str(err.value)
    assert stack.master_key not in str(err.value)
    with _client(stack.master_key) as client, pytest.raises(httpx.ConnectError):
        client.chat(w.url, "gpt-4o-mini")
    stack.start_worker(name)
    stack.wait_ready(name, 90)


def test_pause_and_resume(stack):
    default_start_only(stack)
    w = stack.workers()[0]
    stack.pause_worker(w.name)
    assert stack.workers()[0].state == WorkerState.PAUSED
    with LiteLLMClient(stack.master_key, timeout=2) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.chat(w.url, "gpt-4o-mini")
    stack.resume_worker(w.name)
    with _client(stack.master_key) as client:
        assert client.chat(w.url, "gpt-4o-mini").status_code == 200
    assert stack.workers()[0].pid == w.pid  # the same process, not a restart


def test_restart_worker(stack):
    default_start_only(stack)
    w = stack.workers()[1]
    stack.restart_worker(w.name)
    stack.wait_ready(w.name, 90)
    assert stack.workers()[1].pid != w.pid
    with _client(stack.master_key) as client:
        assert client.chat(w.url, "gpt-4o-mini").status_code == 200


def test_a_fast_start_forks_every_worker_from_one_template(stack):
    if not stack.config.fast_start:
        assert stack.describe()["worker_start"].startswith("cold")
        return
    assert stack.describe()["worker_start"].startswith("fork")
    template = stack._template.pid
    for w in stack.workers():
        ppid = int(open(f"/proc/{w.pid}/stat").read().rsplit(")", 1)[1].split()[1])
        assert ppid == template and os.getpgid(w.pid) == w.pid  # its child, leading a process group of its own
    w = stack.workers()[0]
    stack.kill_worker(w.name, stay_stopped=True)
    assert stack._worker(w.name).process.returncode() == -signal.SIGKILL  # the template reaped it and said how
    stack.start_worker(w.name)
    stack.wait_ready(w.name, 90)


def test_component_logs_are_written(stack):
    logs = stack.component_logs()
    for name in ("postgres", "haproxy", "toxiproxy", "upstream", "worker-1", "worker-2"):
        assert name in logs and logs[name].stat().st_size > 0, name


def test_a_sigkilled_harness_leaves_nothing_without_a_manual_step():
    """The run's watchdog (chaos.host.watchdog) tears it down once its harness is gone."""
    harness = subprocess.Popen(
        [sys.executable, "-m", "chaos.cli", "up", "--replicas", "1", "--models", "m1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
    )
    try:
        for line in harness.stdout:  # the harness prints "up; ..." once the stack is ready
            if line.startswith("run:"):
                run_id = line.split()[1]
            if line.startswith("up;"):
                break
        ports = list(registry.read(run_id)["ports"].values())
        assert leftovers(run_id, ports), "the stack should be up"
    finally:
        harness.kill()  # SIGKILL: no teardown of its own runs
        harness.wait()
    killed = time.monotonic()
    while leftovers(run_id, ports) and time.monotonic() - killed < 20:
        time.sleep(0.2)
    assert leftovers(run_id, ports) == [], "nothing of the run may outlive its harness"
    print(f"run gone {time.monotonic() - killed:.1f} s after its harness was killed")


def test_two_stacks_at_once_do_not_collide():
    procs = [
        subprocess.Popen([sys.executable, "-m", "chaos.cli", "up", "--detach", "--replicas", "1", "--models", "m1"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    run_ids = [out.split()[0] for out, _ in outs if out]
    try:
        assert all(p.returncode == 0 for p in procs), outs
        a, b = (status(r) for r in run_ids)
        ports_a = set(registry.read(a["run_id"])["ports"].values())
        ports_b = set(registry.read(b["run_id"])["ports"].values())
        assert not ports_a & ports_b and a["run_dir"] != b["run_dir"] and a["master_key"] != b["master_key"]
        with _client(a["master_key"]) as client:
            assert client.chat(a["workers"][0]["url"], "m1").status_code == 200
            # b's worker has its own database and keys: a's key is refused there
            assert client.chat(b["workers"][0]["url"], "m1").status_code in (400, 401, 403)
    finally:
        for r in run_ids:
            run_cli("down", r)
    for r, ports in ((run_ids[0], ports_a), (run_ids[1], ports_b)):
        assert leftovers(r, list(ports)) == []


def test_cpu_limit_holds_each_worker_and_its_prisma_engine_and_leaves_no_cgroup():
    from chaos.host.cpu_limit import find_controller

    controller, why = find_controller()
    if controller is None:
        pytest.skip(f"no CPU limit on this machine: {why}")
    s = LocalStack(StackConfig(replicas=1, models=("m1",), cpu_limit=0.5))
    with s:
        group = s.cpu_limits.group("worker-1")
        members = {int(p) for p in (group / "cgroup.procs").read_text().split()}
        worker_pid = s.workers()[0].pid
        children = {int(p) for p in subprocess.run(["pgrep", "-P", str(worker_pid)], capture_output=True, text=True).stdout.split()}
        assert worker_pid in members and children and children <= members  # the Prisma engine shares the quota
        assert s.describe()["cpu_limit_per_worker"].startswith("0.5 CPU per worker (cgroup")
        # LiteLLM's import needs far more than half a CPU for a while: the kernel held it back
        assert s.throttled_s()["worker-1"] > 0
    assert not group.exists() and leftovers(s.run_id, list(s.ports.values())) == []
