"""The machine a run shares with the stack: its CPU pressure, and the load budget that keeps the
harness from saturating it.

Why: on a small machine (2 cores) the fleet, the fake upstream, PostgreSQL and the harness itself share the
CPU. Driven too hard, LiteLLM answers slowly for reasons of the harness's making and the probe
loop falls behind (blind spots). So the default chat rate comes from the machine and the fleet,
not a constant (`budget`), and while a run goes a `PressureMonitor` reads Linux PSI
(/proc/pressure/cpu; else the load average per core) and tells the traffic engine to shed its own
load before it goes blind."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chaos.errors import UsageError
from chaos.host.paths import cache_dir
from chaos.oracle.coverage import CHAT_FLOOR, LISTING_FLOOR
from chaos.run.events import Event

PSI_PATH = Path("/proc/pressure/cpu")
# CPU pressure ("some": the share of time at least one runnable task waited for a CPU), per cent
HIGH_PRESSURE = 40.0  # above this the harness sheds its own load, and latency is not judged
LOW_PRESSURE = 20.0  # below this it takes its load back
SAMPLE_S = 0.5

# What one chat probe costs, measured on this project's 2-core machine (1.108.7, 2 workers, listing
# polls at their default rate included): LiteLLM 24 ms of CPU per chat (benchmarks/listing_probes.py:
# 1.26-1.31 cores for 48-58 chats/s) and the harness ~11 ms (0.56 cores at ~50 chats/s, upstream
# included). Every run's baseline re-measures LiteLLM's share for its version (Calibration), and
# later runs use that.
DEFAULT_LITELLM_MS = 24.0
HARNESS_MS = 11.0
TARGET_UTILISATION = 0.6  # of all cores: the rest is headroom for starts, PostgreSQL, HAProxy, Toxiproxy
FRONT_DOOR_SHARE = 0.25  # of the chat budget, through the front door
MAX_RATE_PER_WORKER = 40.0  # more buys nothing: each pair of 3 models is probed every 75 ms already


@dataclass(frozen=True)
class Budget:
    """The traffic the machine can carry, and why."""

    cores: int
    replicas: int
    models: int
    litellm_ms: float  # LiteLLM CPU per chat (calibrated for this version, or the default)
    harness_ms: float
    calibrated: bool
    rate_per_worker: float  # chats/s per worker, the front door's share included
    front_door_rate: float  # chats/s through the front door
    cpu_limit: float | None = None  # CPUs per worker (--cpu-limit); it caps each worker's share

    @property
    def why(self) -> str:
        src = "calibrated for this version" if self.calibrated else "default, not yet calibrated for this version"
        why = (f"{self.cores} cores x {TARGET_UTILISATION:.0%} / ({self.litellm_ms:g} ms LiteLLM ({src}) + {self.harness_ms:g} ms "
               f"harness per chat) = {self.fleet_rate:.0f} chats/s for {self.replicas} workers")
        if self.cpu_limit and self.rate_per_worker < round(self.fleet_rate / max(self.replicas, 1), 1):
            why += f", capped by --cpu-limit {self.cpu_limit:g} x {TARGET_UTILISATION:.0%} / {self.litellm_ms:g} ms"
        return f"{why}: {self.rate_per_worker:g} per worker ({self.front_door_rate:g}/s of them through the front door)"

    @property
    def fleet_rate(self) -> float:
        return self.cores * TARGET_UTILISATION * 1000 / (self.litellm_ms + self.harness_ms)

    def to_json(self) -> dict:
        return asdict(self) | {"why": self.why}


# Past this many models a LiteLLM costs more per request (and reloads for longer): its calibration
# is kept apart, the stack keeps LiteLLM's own reload interval, and listings are polled less often
MANY_MODELS = 20


def calibration_key(version: str, models: int) -> str:
    return version if models <= MANY_MODELS else f"{version}@many-models"


def budget(replicas: int, models: int, litellm_version: str | None = None, cores: int | None = None,
           cpu_limit: float | None = None) -> Budget:
    cores = cores or os.cpu_count() or 1
    measured = Calibration.load().litellm_ms(calibration_key(litellm_version, models)) if litellm_version else None
    litellm_ms = round(measured or DEFAULT_LITELLM_MS, 1)
    total = cores * TARGET_UTILISATION * 1000 / (litellm_ms + HARNESS_MS)
    per_worker = min(MAX_RATE_PER_WORKER, total / max(replicas, 1))
    if cpu_limit:  # a worker held to its limit answers no more than this without queueing
        per_worker = min(per_worker, cpu_limit * TARGET_UTILISATION * 1000 / litellm_ms)
    per_worker = round(per_worker, 1)
    return Budget(cores, replicas, models, litellm_ms, HARNESS_MS, measured is not None, per_worker,
                  round(per_worker * replicas * FRONT_DOOR_SHARE, 1), cpu_limit)


def check_rate(rate: float, b: Budget) -> None:
    """A --rate the machine cannot carry is refused (one line, with what it can)."""
    if rate > b.rate_per_worker * 1.5:
        raise UsageError(f"--rate {rate:g} chats/s per worker: this machine carries about {b.rate_per_worker:g} for "
                         f"{b.replicas} workers ({b.why}); ask for {b.rate_per_worker:g} or less")


@dataclass
class Calibration:
    """Per version (and apart for many models, calibration_key): LiteLLM's CPU per chat, from the
    workers' CPU time over a run's baseline (CPU time does not depend on pressure), and the chat
    p99 of a baseline that saw little pressure (no_stall's unloaded reference); cached across runs
    (one small JSON file)."""

    per_version: dict[str, dict] = field(default_factory=dict)

    @staticmethod
    def path() -> Path:
        return cache_dir() / "calibration.json"

    @classmethod
    def load(cls) -> "Calibration":
        try:
            return cls(json.loads(cls.path().read_text()))
        except (OSError, ValueError):
            return cls()

    def litellm_ms(self, version: str) -> float | None:
        return (self.per_version.get(version) or {}).get("litellm_ms")

    def unloaded_p99_s(self, version: str) -> float | None:
        return (self.per_version.get(version) or {}).get("unloaded_p99_s")

    def record(self, version: str, **values) -> None:
        entry = self.per_version.setdefault(version, {})
        entry.update({k: round(v, 4) for k, v in values.items() if v is not None})
        entry["measured"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        path = self.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.per_version, indent=2))
        tmp.replace(path)


def read_pressure() -> tuple[float, str] | None:
    """(cumulative stall microseconds, "psi"), or (load average per core x 100, "loadavg") where
    PSI is absent; None where neither is readable."""
    try:
        for line in PSI_PATH.read_text().splitlines():
            if line.startswith("some"):
                return float(line.rsplit("total=", 1)[1]), "psi"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1) * 100, "loadavg"
    except OSError:
        return None


class PressureMonitor:
    """Samples CPU pressure every SAMPLE_S in a thread: per cent of the last sample's time that some
    task waited for a CPU (PSI), else the 1-minute load average per core (a slow signal, said so).
    `on_sample(t, pct)` is called after each sample (the load shedder)."""

    def __init__(self, on_sample=None, sample_s: float = SAMPLE_S):
        self.samples: list[tuple[float, float]] = []  # (monotonic t, per cent)
        self.source = "none"
        self._on_sample = on_sample
        self._sample_s = sample_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "PressureMonitor":
        self._thread = threading.Thread(target=self._loop, name="chaos-pressure", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)

    def __enter__(self) -> "PressureMonitor":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _loop(self) -> None:
        last = read_pressure()
        last_t = time.monotonic()
        while not self._stop.wait(self._sample_s):
            now_t, cur = time.monotonic(), read_pressure()
            if cur is None or last is None:
                last, last_t = cur, now_t
                continue
            self.source = cur[1]
            pct = cur[0] if cur[1] == "loadavg" else min(100.0, (cur[0] - last[0]) / ((now_t - last_t) * 1e6) * 100)
            self.samples.append((now_t, round(pct, 1)))
            last, last_t = cur, now_t
            if self._on_sample:
                self._on_sample(now_t, pct)

    def stretches_above(self, limit: float, since: float = float("-inf")) -> list[tuple[float, float]]:
        """(start, end) of the stretches sampled above `limit`."""
        out, prev_t = [], None
        for t, pct in self.samples:
            if t >= since and pct > limit:
                start = prev_t if prev_t is not None else t - self._sample_s
                if out and start <= out[-1][1]:
                    out[-1] = (out[-1][0], t)
                else:
                    out.append((start, t))
            prev_t = t
        return out

    def summary(self, since: float, until: float) -> dict:
        vals = [pct for t, pct in self.samples if since <= t <= until]
        if not vals:
            return {"source": self.source, "samples": 0}
        high = sum(b - a for a, b in self.stretches_above(HIGH_PRESSURE, since) if a <= until)
        return {"source": self.source, "samples": len(vals), "avg_pct": round(sum(vals) / len(vals), 1),
                "max_pct": round(max(vals), 1), "high_limit_pct": HIGH_PRESSURE,
                "high_s": round(high, 1), "high_share": round(high / max(until - since, 1e-9), 3)}


class LoadShedder:
    """Sheds the harness's own load under pressure, chats first, then listing polls, and takes it
    back once pressure is low again. Acts on the traffic engine's scale factors; records each
    change as an event (`load_shed`)."""

    # chats are never shed below `chat_floor` (coverage.chat_floor), listings (once chats are at
    # their floor) never below LISTING_FLOOR: the coverage's catch window is computed at these
    STEP = 0.8
    HOLD_S = 2.0  # at most one change per this long (pressure lags the change)

    def __init__(self, engine, record, chat_floor: float = CHAT_FLOOR):
        self.engine = engine
        self.record = record
        self.chat_floor = chat_floor
        self._last_change = 0.0

    def __call__(self, t: float, pct: float) -> None:
        if t - self._last_change < self.HOLD_S:
            return
        e = self.engine
        chat, listing = e.chat_scale, e.listing_scale
        if pct > HIGH_PRESSURE:
            if chat > self.chat_floor:
                chat = max(self.chat_floor, chat * self.STEP)
            else:
                listing = max(LISTING_FLOOR, listing * self.STEP)
        elif pct < LOW_PRESSURE:
            if listing < 1.0:
                listing = min(1.0, listing / self.STEP)
            else:
                chat = min(1.0, chat / self.STEP)
        if (chat, listing) != (e.chat_scale, e.listing_scale):
            e.chat_scale, e.listing_scale = round(chat, 3), round(listing, 3)
            self._last_change = t
            self.record(Event.LOAD_SHED, t=t, pressure_pct=round(pct, 1), chat_scale=e.chat_scale, listing_scale=e.listing_scale)
