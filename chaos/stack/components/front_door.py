"""The front door: what a client of a Kubernetes Service in front of the replicas sees.

A second HAProxy (its own process or container: faults on the DB's HAProxy must not take the
clients' entry point down with it) in HTTP mode on 127.0.0.1, round robin over the workers that
pass their readiness probe, with Kubernetes' probe defaults: GET /health/readiness every 10 s,
timeout 1 s, 3 failures to take a worker out, 1 success to put it back (all settable). As
Kubernetes drops a pod whose container stopped or died from its endpoints at once, the harness
takes a worker out the moment it stops, is killed or exits, and lets its next container in from
its first successful probe on. HAProxy says which worker answered in a response header."""

from __future__ import annotations

import os
from pathlib import Path

from chaos.errors import StackStartError
from chaos.host.binaries import HAPROXY
from chaos.host.ports import HOST
from chaos.host.procs import ManagedProcess
from chaos.host.waiting import wait_until
from chaos.stack.components.haproxy import HAProxyRuntime, accepts
from chaos.stack.config import FrontDoorConfig

FRONT_DOOR_BACKEND = "litellm"

_TEMPLATE = """\
global
    maxconn 4000
    stats socket {admin} level admin
    stats timeout 30s
{resolvers}
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout check {timeout_ms}ms
    log stdout format raw local0 info
    option httplog

frontend front_door
    bind {bind}
    default_backend {backend}

backend {backend}
    balance roundrobin
    option httpchk GET /health/readiness
    http-check expect status 200
    default-server inter {period_ms}ms fall {fall} rise {rise}{server_opts}
    http-response set-header X-Chaos-Served-By %[srv_name]
{servers}
"""


def front_door_config(cfg: FrontDoorConfig, bind: str, admin: str, servers: dict[str, str], *, docker_dns: bool = False) -> str:
    """HAProxy's config: `servers` maps worker name -> host:port; `admin` is the runtime API's
    address (a Unix socket path, or ipv4@host:port); docker_dns: resolve the servers through
    Docker's embedded DNS at run time (a restarted container may get a new address)."""
    resolvers = "\nresolvers docker\n    nameserver dns 127.0.0.11:53\n    hold valid 1s\n" if docker_dns else ""
    server_opts = " resolvers docker init-addr last,libc,none" if docker_dns else ""
    return _TEMPLATE.format(
        admin=admin, resolvers=resolvers, bind=bind, backend=FRONT_DOOR_BACKEND, server_opts=server_opts,
        timeout_ms=int(cfg.timeout_s * 1000), period_ms=int(cfg.period_s * 1000), fall=cfg.failure_threshold,
        rise=cfg.success_threshold,
        servers="\n".join(f"    server {name} {address} check" for name, address in servers.items()),
    )


class FrontDoor(HAProxyRuntime):
    """The front door's runtime API and URL, on either backend."""

    def __init__(self, admin_address, url: str, process):
        super().__init__(admin_address)
        self.url = url
        self.process = process

    def take_out(self, worker: str) -> None:
        """No traffic to this worker from now on, whatever its probe says (its container is
        terminating or dead, as Kubernetes drops such a pod from the Service's endpoints)."""
        self.runtime(f"set server {FRONT_DOOR_BACKEND}/{worker} state maint")

    def admit_after_probe(self, worker: str) -> None:
        """A new container: routed to from its first successful readiness probe on (not before)."""
        server = f"{FRONT_DOOR_BACKEND}/{worker}"
        self.runtime(f"set server {server} state ready; set server {server} health down")

    def admit_now(self, worker: str) -> None:
        """Routed to at once (the harness itself checked that it is ready and serves)."""
        server = f"{FRONT_DOOR_BACKEND}/{worker}"
        self.runtime(f"set server {server} state ready; set server {server} health up")

    def states(self) -> dict[str, str]:
        return self.server_states(FRONT_DOOR_BACKEND)

    def wait_all_up(self, workers: list[str], timeout: float) -> None:
        def states() -> dict:
            try:
                return self.states()
            except OSError:  # not listening yet
                return {}

        wait_until(lambda: all(states().get(w, "").startswith("UP") for w in workers), timeout,
                   fail=lambda: StackStartError(f"the front door did not route to every ready worker within {timeout:.0f} s: {states()}"))


class LocalFrontDoor(FrontDoor):
    """The front door as a local HAProxy process."""

    def __init__(self, cfg: FrontDoorConfig, run_dir: Path, port: int, workers: dict[str, int], run_id: str, log_dir: Path):
        self.port = port
        self.socket_path = run_dir / "front-door.sock"
        self.config_path = run_dir / "front-door.cfg"
        self.config_path.write_text(front_door_config(cfg, f"{HOST}:{port}", f"{self.socket_path} mode 600",
                                                      {w: f"{HOST}:{p}" for w, p in workers.items()}))
        process = ManagedProcess("front-door", [str(HAPROXY.require()), "-db", "-f", str(self.config_path)],
                                 log_dir / "front-door.log", env=dict(os.environ), run_id=run_id)
        super().__init__(self.socket_path, f"http://{HOST}:{port}", process)

    def start(self, timeout: float = 10.0) -> None:
        self.process.start()
        wait_until(lambda: self.socket_path.exists() and accepts(self.port), timeout, interval=0.02,
                   give_up=lambda: not self.process.running(),
                   fail=lambda: StackStartError(f"the front door (HAProxy) did not start on {HOST}:{self.port}; "
                                                f"log tail:\n{self.process.log_tail()}"))
