"""Small pieces that need no stack: restart policy, redaction, registry, ports, versions, process identity."""

import os
import socket
import threading

import pytest

from chaos.errors import PortInUse, UsageError
from chaos.evidence.redaction import REDACTED, Redactor, new_key
from chaos.host import registry
from chaos.host.ports import is_free, pick_free_ports, ports_from_base
from chaos.host.procs import is_same_process, proc_start_ticks
from chaos.litellm.versions import COMPROMISED_LITELLM_VERSIONS, check_litellm_version
from chaos.stack.config import RestartPolicy, StackConfig


def test_backoff_doubles_and_is_capped():
    policy = RestartPolicy(initial_backoff_s=1, max_backoff_s=10)
    assert [policy.backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_redactor_hides_run_keys_and_any_sk_token():
    key = new_key()
    redact = Redactor(key, "salt-value-123")
    text = f"master={key} salt=salt-value-123 other=sk-abcdefghijklmnop ok=sk-1"
    out = redact(text)
    assert key not in out and "salt-value-123" not in out and "sk-abcdefghijklmnop" not in out
    assert out.count(REDACTED) == 3 and "ok=sk-1" in out


def test_keys_are_random_and_strong():
    keys = {new_key() for _ in range(50)}
    assert len(keys) == 50 and all(len(k) > 40 for k in keys)


@pytest.mark.parametrize("version", sorted(COMPROMISED_LITELLM_VERSIONS))
def test_compromised_versions_refused(version):
    with pytest.raises(UsageError, match="compromised"):
        check_litellm_version(version)


def test_well_formed_version_accepted():
    assert check_litellm_version("1.82.3") == "1.82.3"


@pytest.mark.parametrize("replicas", [0, -1, 17])
def test_replicas_out_of_range(replicas):
    with pytest.raises(UsageError, match=f"--replicas {replicas}"):
        StackConfig(replicas=replicas).validate()


def test_registry_lock_is_reentrant_and_serialises_threads(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_STATE_DIR", str(tmp_path))
    order = []
    with registry.locked():
        with registry.locked():  # nested: must not deadlock
            t = threading.Thread(target=lambda: (registry.locked().__enter__(), order.append("other")))
            t.start()
            t.join(0.3)
            order.append("first")
    t.join(2)
    assert order == ["first", "other"]


def test_registry_entries_are_private(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_STATE_DIR", str(tmp_path))
    registry.write({"run_id": "r1", "master_key": "sk-secret", "ports": {"a": 1}})
    assert oct(registry.path_of("r1").stat().st_mode & 0o777) == "0o600"
    assert registry.read("r1")["master_key"] == "sk-secret"
    assert registry.reserved_ports() == {1} and registry.reserved_ports(excluding_run="r1") == set()
    registry.remove("r1")
    assert registry.read("r1") is None


def test_free_ports_are_distinct_and_skip_excluded():
    first = pick_free_ports(["a"], exclude=set())["a"]
    ports = pick_free_ports([str(i) for i in range(20)], exclude={first})
    assert len(set(ports.values())) == 20 and first not in ports.values()
    assert all(is_free(p) for p in ports.values())


def test_base_port_reports_the_taken_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {taken} .*wanted for b"):
            ports_from_base(["a", "b"], taken - 1)


def test_process_identity_uses_start_time():
    me = os.getpid()
    ticks = proc_start_ticks(me)
    assert is_same_process(me, ticks)
    assert not is_same_process(me, ticks + 1)
    assert proc_start_ticks(2**22 + 12345) is None


def test_model_read_watcher_reads_worker_reloads_from_postgres_log(tmp_path):
    from chaos.run.events import EventLog
    from chaos.stack.components.model_reads import ModelReadWatcher

    log = tmp_path / "postgres.log"
    log.write_text('2026-11-22 03:24:08.949 UTC [27575] psql LOG:  statement: SELECT 1 FROM "LiteLLM_ProxyModelTable"\n')
    events = EventLog()
    watcher = ModelReadWatcher(log, events)  # what was logged before it started is not a reload
    with open(log, "a") as f:
        f.write('2026-11-22 03:24:09.000 UTC [27575] psql LOG:  statement: CREATE TABLE "LiteLLM_ProxyModelTable" (\n'
                '2026-11-22 03:24:30.000 UTC [27780] worker-2 LOG:  execute <unnamed>: SELECT 1\n'
                '2026-11-22 03:24:30.948 UTC [27780] worker-2 LOG:  execute <unnamed>: SELECT "public"."LiteLLM_ProxyModelTable"."model_id"\n'
                '2026-11-22 03:24:30.950 UTC [27780] worker-2 LOG:  execute <unnamed>: SELECT "public"."LiteLLM_ProxyModelTable"."model_id"\n'
                '2026-11-22 03:24:35.948 UTC [27781] worker-1 LOG:  execute <unnamed>: SELECT "public"."LiteLLM_ProxyModelTable"."x"\n'
                '2026-11-22 03:24:36.948 UTC [27781] worker-1 LOG:  execute <unnamed>: SELECT "public"."LiteLLM_ProxyModelTa')
    watcher.poll()
    reads = events.events("model_table_read")
    # one burst per worker; the half-written last line is read once it is complete
    assert [(e["worker"], e["wall"]) for e in reads] == [("worker-2", 1795317870.948), ("worker-1", 1795317875.948)]
    assert reads[0]["t"] < reads[1]["t"]


def test_db_seeding_encrypts_string_parameters_only_as_litellm_does():
    import json

    from chaos.litellm.models import ModelSpec
    from chaos.stack.components.seed import encrypted_params

    spec = ModelSpec("m", "openai/m", {"rpm": 600, "timeout": 30, "drop_params": True})
    stored = json.loads(encrypted_params(spec, "http://127.0.0.1:9", "salt"))
    assert stored["rpm"] == 600 and stored["timeout"] == 30 and stored["drop_params"] is True
    assert stored["model"] != "openai/m" and isinstance(stored["model"], str)  # strings encrypted
