"""Every fault against a real stack: confirmed active when apply() returns, gone after heal()."""

from __future__ import annotations

import time

import psycopg
import pytest

from chaos import LocalStack, StackConfig
from chaos.errors import UsageError
from chaos.faults import make_fault
from chaos.stack.components.toxiproxy import PG_LINK, worker_link

from .helpers import leftovers

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack():
    s = LocalStack(StackConfig(replicas=1, models=("m1",)))
    with s:
        yield s
    assert leftovers(s.run_id, list(s.ports.values())) == []


def _query_via(stack, port: int, timeout: float = 3) -> float:
    """Seconds a SELECT 1 takes through `port`; raises on failure."""
    t = time.monotonic()
    with psycopg.connect(stack.postgres.dsn(port=port), connect_timeout=timeout) as conn:
        conn.execute(f"SET statement_timeout = {int(timeout * 1000)}")
        conn.execute("SELECT 1")
    return time.monotonic() - t


def _worker_link_port(stack) -> int:
    return stack.ports[f"link:{worker_link('worker-1')}"]


def _applied(stack, spec):
    fault = make_fault(spec, stack)
    fault.apply()
    return fault


def test_link_down_and_up(stack):
    port = _worker_link_port(stack)
    fault = _applied(stack, {"kind": "link_down", "link": "worker-1"})
    try:
        with pytest.raises(psycopg.OperationalError):
            _query_via(stack, port)
        assert _query_via(stack, stack.ports[f"link:{PG_LINK}"]) < 3  # the other links are untouched
    finally:
        fault.heal()
    assert _query_via(stack, port) < 3


def test_latency_toxic(stack):
    port = _worker_link_port(stack)
    fault = _applied(stack, {"kind": "toxic", "link": "worker-1", "type": "latency", "attributes": {"latency": 400}})
    try:
        assert _query_via(stack, port, timeout=10) >= 0.4
    finally:
        fault.heal()
    assert _query_via(stack, port) < 0.4


@pytest.mark.parametrize("toxic", ["timeout", "reset_peer"])  # black hole; connection reset
def test_connection_breaking_toxics(stack, toxic):
    port = _worker_link_port(stack)
    fault = _applied(stack, {"kind": "toxic", "link": "worker-1", "type": toxic, "attributes": {"timeout": 0}})
    try:
        with pytest.raises(psycopg.OperationalError):
            _query_via(stack, port, timeout=2)
    finally:
        fault.heal()
    assert _query_via(stack, port) < 3


def test_flap_toggles_the_link(stack):
    fault = _applied(stack, {"kind": "link_flap", "link": "worker-1", "period_s": 0.6, "duty": 0.5})
    try:
        time.sleep(2)
    finally:
        fault.heal()
    kinds = [e["kind"] for e in stack.events.events() if e["kind"].startswith("link_flap")]
    assert kinds.count("link_flap_down") >= 2 and kinds.count("link_flap_up") >= 2
    assert _query_via(stack, _worker_link_port(stack)) < 3


@pytest.mark.parametrize("spec", [{"kind": "haproxy_server", "state": "maint"}, {"kind": "haproxy_stop"}])
def test_haproxy_faults(stack, spec):
    fault = _applied(stack, spec)
    try:
        if spec["kind"] == "haproxy_server":
            assert stack.haproxy.server_status().startswith("MAINT")
        with pytest.raises(psycopg.OperationalError):
            _query_via(stack, stack.haproxy.port)
    finally:
        fault.heal()
    assert stack.haproxy.wait_server_status("UP", 10)
    assert _query_via(stack, stack.haproxy.port) < 3


def test_postgres_stop_and_pause(stack):
    for kind in ("pg_stop", "pg_pause"):
        fault = _applied(stack, {"kind": kind})
        try:
            with pytest.raises(psycopg.OperationalError):
                _query_via(stack, stack.postgres.port, timeout=2)
        finally:
            fault.heal()
        stack.postgres.wait_ready(10)
    assert stack.haproxy.wait_server_status("UP", 10)


def test_terminate_backends(stack):
    conn = psycopg.connect(stack.postgres.dsn(), autocommit=True)
    fault = _applied(stack, {"kind": "pg_terminate_backends"})
    assert fault.terminated >= 1
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    conn.close()


def test_lock_table_makes_model_queries_hang(stack):
    fault = _applied(stack, {"kind": "pg_lock_table"})
    try:
        with psycopg.connect(stack.postgres.dsn()) as conn:
            conn.execute("SET statement_timeout = 1000")
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute('SELECT count(*) FROM "LiteLLM_ProxyModelTable"')
    finally:
        fault.heal()
    with psycopg.connect(stack.postgres.dsn()) as conn:
        conn.execute("SET statement_timeout = 1000")
        conn.execute('SELECT count(*) FROM "LiteLLM_ProxyModelTable"')


def test_fault_validation_names_the_bad_value(stack):
    with pytest.raises(UsageError, match="'worker-7'"):
        make_fault({"kind": "worker_kill", "worker": "worker-7"}, stack)
    with pytest.raises(UsageError, match="'nope'"):
        make_fault({"kind": "toxic", "link": "worker-1", "type": "nope"}, stack)


def test_model_query_trigger_sees_the_workers_model_reload(stack):
    # the worker reloads its models from the DB every reload interval (5 s here); PostgreSQL's
    # log names it (application_name), and the watcher turns that into an event
    since = time.monotonic()
    read = stack.events.wait_for("model_table_read", 6 * stack.reload_interval_s, after=since, worker="worker-1")
    assert read is not None, stack.events.events("model_table_read")
