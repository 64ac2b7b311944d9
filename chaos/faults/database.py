"""Faults on HAProxy (runtime API, restart) and PostgreSQL (stop, pause, terminate backends,
lock a LiteLLM table so the queries on it hang until released)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import psycopg

from chaos.errors import UsageError
from chaos.faults.base import Fault, FaultError, check_positive, register, wait_until
from chaos.host.ports import HOST
from chaos.stack.components.haproxy import BACKEND, SERVER
from chaos.stack.components.model_reads import MODEL_TABLE


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) != 0


@register("haproxy_server")
@dataclass
class HAProxyServerState(Fault):
    """The PostgreSQL server in HAProxy's backend to maint or drain (heal: ready)."""

    state: str = "maint"

    def validate(self):
        if self.state not in ("maint", "drain"):
            raise UsageError(f"haproxy_server state {self.state!r}; expected maint or drain (heal sets ready)")

    def apply(self):
        self.stack.haproxy.runtime(f"set server {BACKEND}/{SERVER} state {self.state}")
        wanted = "MAINT" if self.state == "maint" else "DRAIN"
        if not self.stack.haproxy.wait_server_status(wanted, 5):
            raise FaultError(f"HAProxy did not report {BACKEND}/{SERVER} as {wanted}")

    def heal(self):
        self.stack.haproxy.runtime(f"set server {BACKEND}/{SERVER} state ready")
        wait_until(lambda: not self.stack.haproxy.server_status().startswith(("MAINT", "DRAIN")), 5, "HAProxy server ready")


@register("haproxy_stop")
@dataclass
class HAProxyStop(Fault):
    """HAProxy down (its port refuses); heal starts it again. A restart is this with a short window."""

    def apply(self):
        self.stack.haproxy.process.stop(5)
        wait_until(lambda: _refused(self.stack.haproxy.port), 5, "HAProxy port refusing")

    def heal(self):
        if not self.stack.haproxy.process.running():
            self.stack.haproxy.start()
            self.stack.save_state()


@register("pg_stop")
@dataclass
class PostgresStop(Fault):
    """PostgreSQL stopped (fast shutdown) behind a live HAProxy; heal starts it again."""

    def apply(self):
        self.stack.postgres.process.stop(10)
        wait_until(lambda: _refused(self.stack.postgres.port), 5, "PostgreSQL port refusing")

    def heal(self):
        if not self.stack.postgres.process.running():
            self.stack.postgres.start()
            self.stack.save_state()


@register("pg_pause")
@dataclass
class PostgresPause(Fault):
    """Every PostgreSQL process stopped (SIGSTOP; docker pause on compose): connections hang instead of failing."""

    def apply(self):
        if not self.stack.postgres.process.pause():
            raise FaultError("PostgreSQL is not running: cannot pause it")
        wait_until(self.stack.postgres.process.paused, 5, "PostgreSQL paused")

    def heal(self):
        self.stack.postgres.process.resume()


@register("pg_terminate_backends")
@dataclass
class PostgresTerminateBackends(Fault):
    """pg_terminate_backend() on every client connection to the LiteLLM database (instant)."""

    def apply(self):
        with psycopg.connect(self.stack.postgres.dsn(), autocommit=True, connect_timeout=5) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' AND datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        self.terminated = sum(1 for (ok,) in rows if ok)


@register("pg_lock_table")
@dataclass
class PostgresLockTable(Fault):
    """An ACCESS EXCLUSIVE lock held on a LiteLLM table: every query on it hangs until heal."""

    table: str = MODEL_TABLE
    timeout_s: float = 0.0  # release by itself after this long (0: only on heal)

    def validate(self):
        check_positive("pg_lock_table", "timeout_s", self.timeout_s, allow_zero=True)
        if not self.table.replace("_", "").isalnum():
            raise UsageError(f"pg_lock_table: {self.table!r} is not a table name")

    def apply(self):
        self._conn = psycopg.connect(self.stack.postgres.dsn(), connect_timeout=5)
        if self.timeout_s:
            self._conn.execute(f"SET idle_in_transaction_session_timeout = '{int(self.timeout_s * 1000)}ms'")
        self._conn.execute(f'LOCK TABLE "{self.table}" IN ACCESS EXCLUSIVE MODE')
        with psycopg.connect(self.stack.postgres.dsn(), autocommit=True) as probe:
            held = probe.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = %s AND l.mode = 'AccessExclusiveLock' AND l.granted", (self.table,)
            ).fetchone()[0]
        if not held:
            raise FaultError(f"lock on {self.table} not visible in pg_locks")

    def heal(self):
        conn = getattr(self, "_conn", None)
        if conn is not None:
            try:
                conn.rollback()
            finally:
                conn.close()
                self._conn = None

