"""Toxiproxy faults on the DB links (through toxiproxy-python).

Link names in schedules: `worker-N` (that worker's link to HAProxy), `postgres` (HAProxy to
PostgreSQL), `workers` (every worker link), or a Toxiproxy proxy name."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from chaos.errors import UsageError
from chaos.faults.base import Fault, FaultError, check_positive, register, wait_until
from chaos.host import waiting
from chaos.host.ports import HOST
from chaos.run.events import Event
from chaos.stack.components.toxiproxy import PG_LINK, worker_link

TOXIC_TYPES = ("latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data")


def resolve_links(stack, link: str) -> list[str]:
    workers = stack.worker_names()
    if link == "postgres":
        return [PG_LINK]
    if link == "workers":
        return [worker_link(w) for w in workers]
    if link in workers:
        return [worker_link(link)]
    proxies = set(stack.toxiproxy.links)
    if link in proxies:
        return [link]
    raise UsageError(f"unknown link {link!r}; expected postgres, workers, one of {', '.join(workers)}, or a proxy name")


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _listen_port(stack, proxy: str) -> int | None:
    """Where the link listens on this host; None on compose (inside the project's network; a
    published port would go through docker-proxy, which accepts whatever the container does)."""
    return stack.toxiproxy.links[proxy][0]


def set_enabled(stack, proxies: list[str], enabled: bool) -> None:
    with stack.toxiproxy.api() as api:
        for name in proxies:
            proxy = api.get_proxy(name)
            if proxy is None:
                raise FaultError(f"Toxiproxy has no proxy {name!r}")
            proxy.enable() if enabled else proxy.disable()
    def confirmed(name: str) -> bool:
        port = _listen_port(stack, name)
        return _state(stack, name) == enabled and (port is None or _accepts(port) == enabled)

    for name in proxies:  # read back: the API says so and the listener really (does not) accept
        wait_until(lambda n=name: confirmed(n), 5,
                   f"link {name} {'up' if enabled else 'down'}")


def _state(stack, proxy: str) -> bool:
    with stack.toxiproxy.api() as api:
        return api.get_proxy(proxy).enabled


@register("link_down")
@dataclass
class LinkDown(Fault):
    """The link stops listening and drops its connections (Toxiproxy enabled=false)."""

    link: str = "postgres"

    def validate(self):
        self._proxies = resolve_links(self.stack, self.link)

    def apply(self):
        set_enabled(self.stack, self._proxies, False)

    def heal(self):
        set_enabled(self.stack, self._proxies, True)


@register("toxic")
@dataclass
class Toxic(Fault):
    """A Toxiproxy toxic: latency (+jitter), bandwidth, slow_close, timeout (black hole when 0),
    reset_peer, slicer, limit_data; attributes as Toxiproxy names them."""

    link: str = "postgres"
    type: str = "latency"
    attributes: dict = field(default_factory=dict)
    stream: str = "downstream"
    toxicity: float = 1.0

    def validate(self):
        self._proxies = resolve_links(self.stack, self.link)
        if self.type not in TOXIC_TYPES:
            raise UsageError(f"unknown toxic type {self.type!r}; expected one of: {', '.join(TOXIC_TYPES)}")
        if self.stream not in ("upstream", "downstream"):
            raise UsageError(f"toxic stream {self.stream!r}; expected upstream or downstream")
        for key, value in self.attributes.items():
            check_positive("toxic", key, value, allow_zero=True)

    @property
    def toxic_name(self) -> str:
        return f"chaos-{self.type}-{self.stream}"

    def apply(self):
        with self.stack.toxiproxy.api() as api:
            for name in self._proxies:
                api.get_proxy(name).add_toxic(type=self.type, name=self.toxic_name, stream=self.stream,
                                              toxicity=self.toxicity, attributes=self.attributes)
        for name in self._proxies:
            wait_until(lambda n=name: self.toxic_name in self._toxics(n), 5, f"toxic {self.toxic_name} on {name}")

    def heal(self):
        with self.stack.toxiproxy.api() as api:
            for name in self._proxies:
                proxy = api.get_proxy(name)
                if self.toxic_name in proxy.toxics():
                    proxy.destroy_toxic(self.toxic_name)
        for name in self._proxies:
            wait_until(lambda n=name: self.toxic_name not in self._toxics(n), 5, f"toxic {self.toxic_name} removed from {name}")

    def _toxics(self, proxy: str) -> dict:
        with self.stack.toxiproxy.api() as api:
            return api.get_proxy(proxy).toxics()


@register("link_reset")
@dataclass
class LinkReset(Fault):
    """The link accepts each connection and resets it at once (a reset_peer toxic): the DB is gone
    for its clients, as with link_down, but every connection attempt shows in Toxiproxy's log.
    So the fault is held until every worker on it has been seen trying the DB during it (seen by
    Toxiproxy, not told by the gateway; a reload, or any other DB use), at most `hold_max_s` after
    it began: heal waits for that. Which workers tried, and when, is an event (`db_attempts`)."""

    link: str = "workers"
    hold_max_s: float = 30.0

    def validate(self):
        self._proxies = resolve_links(self.stack, self.link)
        check_positive("link_reset", "hold_max_s", self.hold_max_s)
        self._toxic = Toxic(stack=self.stack, link=self.link, type="reset_peer", attributes={"timeout": 0})
        self._toxic.validate()

    def apply(self):
        self._log = (self.stack.component_logs() or {}).get("toxiproxy")
        self._offset = self._log.stat().st_size if self._log and self._log.exists() else None
        self._since = time.monotonic()
        self._toxic.apply()

    def heal(self):
        if not hasattr(self, "_since"):
            return
        tried: dict[str, float] = {}
        observable = self._offset is not None

        def every_worker_tried() -> bool:
            tried.update({w: t for w, t in connection_attempts(self._log, self._offset, self._proxies).items() if w not in tried})
            return len(tried) == len(self._proxies)

        if observable:
            waiting.wait_until(every_worker_tried, max(0.0, self._since + self.hold_max_s - time.monotonic()), interval=0.25)
        # seconds into the fault (Toxiproxy logs whole seconds: an attempt in its first second may read as < 0)
        self.stack.events.record(Event.DB_ATTEMPTS, fault=self.describe(), observable=observable,
                                 tried={proxy_worker(p): (max(0.0, round(tried[p] - self._since, 1)) if p in tried else None)
                                        for p in self._proxies} if observable else {})
        self._toxic.heal()
        del self._since


def proxy_worker(proxy: str) -> str:
    return proxy.removesuffix("-to-haproxy")


def connection_attempts(log, offset: int, proxies: list[str]) -> dict[str, float]:
    """proxy -> when (monotonic, to Toxiproxy's one-second log resolution) its log first showed a
    client it accepted, past byte `offset`."""
    found: dict[str, float] = {}
    to_monotonic = time.monotonic() - time.time()
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return found
    for line in lines:
        if '"Accepted client"' not in line:
            continue
        try:
            entry = json.loads(line)
            wall = datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        if entry.get("name") in proxies:
            found.setdefault(entry["name"], wall + to_monotonic)
    return found


@register("link_flap")
@dataclass
class LinkFlap(Fault):
    """The link goes down and up again, period_s long, down for duty of it, +-jitter_s, seeded."""

    link: str = "postgres"
    period_s: float = 2.0
    duty: float = 0.5
    jitter_s: float = 0.0
    seed: int = 0

    def validate(self):
        self._proxies = resolve_links(self.stack, self.link)
        check_positive("link_flap", "period_s", self.period_s)
        check_positive("link_flap", "jitter_s", self.jitter_s, allow_zero=True)
        if not 0 < self.duty < 1:
            raise UsageError(f"fault 'link_flap': duty={self.duty!r} must be between 0 and 1 (the fraction of each period the link is down)")

    def apply(self):
        self._stop = threading.Event()
        self._rng = random.Random(self.seed)
        set_enabled(self.stack, self._proxies, False)  # the first down is confirmed before moving on
        self.stack.events.record(Event.LINK_FLAP_DOWN, links=self._proxies)
        self._thread = threading.Thread(target=self._run, name="chaos-flap", daemon=True)
        self._thread.start()

    def _jittered(self, seconds: float) -> float:
        return max(0.05, seconds + self._rng.uniform(-self.jitter_s, self.jitter_s))

    def _run(self):
        down = True
        while not self._stop.wait(self._jittered(self.period_s * (self.duty if down else 1 - self.duty))):
            down = not down
            set_enabled(self.stack, self._proxies, not down)
            self.stack.events.record(Event.LINK_FLAP_DOWN if down else Event.LINK_FLAP_UP, links=self._proxies)

    def heal(self):
        if getattr(self, "_thread", None):
            self._stop.set()
            self._thread.join(10)
        set_enabled(self.stack, self._proxies, True)
