"""HAProxy in TCP mode in front of PostgreSQL, as in the incident: health checks on the backend
server and an admin runtime API socket (server maint/drain/ready, server state)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from chaos.errors import StackStartError
from chaos.host.binaries import HAPROXY
from chaos.host.ports import HOST
from chaos.host.procs import ManagedProcess
from chaos.host.waiting import wait_until

BACKEND = "postgres"
SERVER = "pg1"

CONFIG = """\
global
    maxconn 2000
    stats socket {socket} mode 600 level admin
    stats timeout 30s

defaults
    mode tcp
    timeout connect 3s
    timeout client 30m
    timeout server 30m
    log stdout format raw local0 info

frontend postgres_in
    bind {host}:{port}
    default_backend {backend}

backend {backend}
    option pgsql-check user postgres
    default-server inter 500ms fastinter 250ms downinter 500ms rise 2 fall 2 on-marked-down shutdown-sessions
    server {server} {host}:{upstream_port} check
"""


class HAProxyRuntime:
    """HAProxy's admin runtime API, on a Unix socket (local) or a TCP address (compose)."""

    def __init__(self, address: Path | tuple[str, int]):
        self.address = address

    def runtime(self, command: str, timeout: float = 5.0) -> str:
        """One command on the runtime API socket, e.g. `show servers state`."""
        family = socket.AF_INET if isinstance(self.address, tuple) else socket.AF_UNIX
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(self.address if isinstance(self.address, tuple) else str(self.address))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_states(self, backend: str = BACKEND) -> dict[str, str]:
        """Each server of `backend` -> its operational state as HAProxy reports it: UP, DOWN, MAINT, DRAIN..."""
        states = {}
        for line in self.runtime("show stat").splitlines():
            fields = line.split(",")
            if len(fields) > 17 and fields[0] == backend and fields[1] not in ("FRONTEND", "BACKEND"):
                states[fields[1]] = fields[17]
        return states

    def server_status(self, backend: str = BACKEND, server: str = SERVER) -> str:
        status = self.server_states(backend).get(server)
        if status is None:
            raise StackStartError(f"HAProxy reports no server {backend}/{server}")
        return status

    def wait_server_status(self, wanted: str, timeout: float, backend: str = BACKEND, server: str = SERVER) -> bool:
        return bool(wait_until(lambda: self.server_status(backend, server).startswith(wanted), timeout))


class HAProxy(HAProxyRuntime):
    def __init__(self, run_dir: Path, port: int, upstream_port: int, run_id: str, log_dir: Path):
        self.port = port
        self.socket_path = run_dir / "haproxy.sock"
        super().__init__(self.socket_path)
        self.config_path = run_dir / "haproxy.cfg"
        self.upstream_port = upstream_port
        self.process = ManagedProcess(
            "haproxy",
            [str(HAPROXY.require()), "-db", "-f", str(self.config_path)],
            log_dir / "haproxy.log",
            env=dict(os.environ),
            run_id=run_id,
        )

    def write_config(self) -> None:
        self.config_path.write_text(
            CONFIG.format(
                socket=self.socket_path, host=HOST, port=self.port, backend=BACKEND, server=SERVER,
                upstream_port=self.upstream_port,
            )
        )

    def start(self, timeout: float = 10.0) -> None:
        self.write_config()
        self.process.start()
        wait_until(lambda: self.socket_path.exists() and accepts(self.port), timeout, interval=0.02,
                   give_up=lambda: not self.process.running(),
                   fail=lambda: StackStartError(f"HAProxy did not start on {HOST}:{self.port}; log tail:\n{self.process.log_tail()}"))

def accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0
