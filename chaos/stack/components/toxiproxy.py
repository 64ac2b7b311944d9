"""Toxiproxy with one proxy per DB link: each worker -> HAProxy, and HAProxy -> PostgreSQL.

Proxies are created from a config file at server start (one step, no API round trips) and read
back through toxiproxy-python. That library keeps the API address in class attributes, so every
call here sets it under one lock: two stacks in one process do not talk to each other's server."""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path

import httpx
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer

from chaos.errors import StackStartError
from chaos.host.binaries import TOXIPROXY
from chaos.host.ports import HOST
from chaos.host.procs import ManagedProcess
from chaos.host.waiting import wait_until

PG_LINK = "haproxy-to-postgres"
_API_LOCK = threading.RLock()


def worker_link(worker: str) -> str:
    return f"{worker}-to-haproxy"


class ToxiproxyAPI:
    """A Toxiproxy server's API on 127.0.0.1:api_port (local process or published container port)."""

    def __init__(self, api_port: int):
        self.api_port = api_port

    @contextmanager
    def api(self):
        """A toxiproxy-python client bound to this server for the duration of the block."""
        with _API_LOCK:
            APIConsumer.host, APIConsumer.port = HOST, self.api_port
            yield Toxiproxy()

    def state(self) -> dict:
        """Every proxy with its toxics, as the server reports them (for the evidence folder)."""
        return httpx.get(f"http://{HOST}:{self.api_port}/proxies", timeout=5).json()

    def reset(self) -> None:
        """Toxiproxy's own reset (every proxy enabled, every toxic removed), confirmed."""
        httpx.post(f"http://{HOST}:{self.api_port}/reset", timeout=5).raise_for_status()
        clean = wait_until(lambda: all(p["enabled"] and not p["toxics"] for p in self.state().values()), 5)
        if not clean:
            raise StackStartError(f"Toxiproxy did not reset: {self.state()}")


class ToxiproxyServer(ToxiproxyAPI):
    def __init__(self, run_dir: Path, api_port: int, links: dict[str, tuple[int, int]], run_id: str, log_dir: Path):
        """links: proxy name -> (listen port, upstream port), all on 127.0.0.1."""
        super().__init__(api_port)
        self.links = links
        self.config_path = run_dir / "toxiproxy.json"
        self.process = ManagedProcess(
            "toxiproxy",
            [str(TOXIPROXY.require()), "-host", HOST, "-port", str(api_port), "-config", str(self.config_path)],
            log_dir / "toxiproxy.log",
            env=dict(os.environ),
            run_id=run_id,
        )

    def start(self, timeout: float = 10.0) -> None:
        self.config_path.write_text(
            json.dumps(
                [
                    {"name": name, "listen": f"{HOST}:{listen}", "upstream": f"{HOST}:{upstream}", "enabled": True}
                    for name, (listen, upstream) in self.links.items()
                ],
                indent=2,
            )
        )
        self.process.start()

        def all_proxies() -> bool:
            with self.api() as api:
                return set(api.proxies()) == set(self.links)

        wait_until(all_proxies, timeout, interval=0.02, give_up=lambda: not self.process.running(),
                   fail=lambda: StackStartError(f"Toxiproxy did not come up with its {len(self.links)} proxies on "
                                                f"{HOST}:{self.api_port}; log tail:\n{self.process.log_tail()}"))
