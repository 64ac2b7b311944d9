"""A private PostgreSQL cluster in the run directory, on 127.0.0.1 only (no Unix socket)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

import psycopg

from chaos.errors import PrerequisiteMissing, StackStartError
from chaos.host.binaries import INITDB, POSTGRES
from chaos.host.ports import HOST
from chaos.host.procs import ManagedProcess
from chaos.host.waiting import wait_until
from chaos.stack.components.model_reads import LOG_LINE_PREFIX

DB_NAME = "litellm"
DB_USER = "postgres"


def server_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PrerequisiteMissing(
            "running as root, PostgreSQL needs an unprivileged `postgres` user; install the postgresql package or run as a normal user"
        ) from None
    return "postgres"


class PostgresEndpoint:
    """A PostgreSQL server on 127.0.0.1:port run by `process` (a local process or a compose
    service's container: same interface), as the harness and the faults reach it."""

    def __init__(self, port: int, process):
        self.port = port
        self.process = process

    def dsn(self, database: str = DB_NAME, port: int | None = None) -> str:
        return f"postgresql://{DB_USER}@{HOST}:{port or self.port}/{database}"

    def start(self, timeout: float = 20.0) -> None:
        self.process.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        def answers() -> bool:
            with psycopg.connect(self.dsn("postgres"), connect_timeout=2, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return True

        wait_until(answers, timeout, give_up=lambda: not self.process.running(),
                   fail=lambda: StackStartError(f"PostgreSQL did not accept connections on {HOST}:{self.port}; "
                                                f"log tail:\n{self.process.log_tail()}"))


class PostgresCluster(PostgresEndpoint):
    """The local backend's private cluster: initdb into the run directory, 127.0.0.1 only."""

    def __init__(self, run_dir: Path, port: int, run_id: str, log_dir: Path):
        self.data_dir = run_dir / "postgres"
        self.user = server_user()
        process = ManagedProcess(
            "postgres",
            [
                str(POSTGRES.require()), "-D", str(self.data_dir), "-p", str(port),
                "-c", f"listen_addresses={HOST}",
                "-c", "unix_socket_directories=",
                "-c", "fsync=off",  # a throwaway cluster: durability is not under test
                "-c", "max_connections=300",
                "-c", "log_min_messages=warning",
                # every statement in the log, with the worker's name: model reloads are read from it
                "-c", "log_statement=all",
                "-c", f"log_line_prefix={LOG_LINE_PREFIX}",
                "-c", "log_timezone=UTC",
                "-c", "log_parameter_max_length=0",  # bind values (model params JSON) would bloat the log
            ],
            log_dir / "postgres.log",
            env=dict(os.environ),
            run_id=run_id,
            user=self.user,
            stop_signal=signal.SIGINT,  # fast shutdown: no waiting for clients, shared memory released
        )
        super().__init__(port, process)

    def init(self) -> None:
        self.data_dir.mkdir(parents=True)
        if self.user:
            shutil.chown(self.data_dir, self.user, self.user)
        out = subprocess.run(
            [str(INITDB.require()), "-D", str(self.data_dir), "-U", DB_USER, "--auth=trust",
             "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
            capture_output=True, text=True, user=self.user, stdin=subprocess.DEVNULL, env=dict(os.environ, LC_ALL="C.UTF-8"),
        )
        if out.returncode != 0:
            raise StackStartError(f"initdb failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")

    def create_database(self) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
