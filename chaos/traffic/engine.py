"""An async httpx probe engine in its own thread (so scenario code stays synchronous).

- chat probes: every worker gets `rate_per_worker` chat completions per second, round robin over
  the valid models, each hitting the worker directly; requests are not serialised (a hung worker
  does not slow the others) but in-flight requests per worker are capped;
- readiness: every worker's /health/readiness every `readiness_interval_s`;
- management calls (/model/new, /model/info, /v1/models) on demand, recorded like the rest.
Everything lands in the History as invoke + completion, with monotonic times."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass

import httpx

from ..errors import UsageError
from ..history import History, Op
from ..stack.seed import model_params
from ..oracle.classify import OK, classify, op_type


# the probe loop more than this late: a blind spot (recorded as a probe_stall), and it skips ahead
STALL_S = 0.25


@dataclass(frozen=True)
class TrafficConfig:
    # chat requests per second per worker: 40 over 3 models probes each pair every 75 ms, so a
    # 100 ms "Invalid model name" window is caught (benchmarks/probe_engine.py)
    rate_per_worker: float = 40.0
    readiness_interval_s: float = 0.25
    timeout_s: float = 5.0  # chat probes and readiness
    management_timeout_s: float = 30.0  # /model/new and reads: slower by nature, and clients wait longer
    max_in_flight_per_worker: int = 200
    connections_per_worker: int = 32  # more in flight wait for a connection (and may time out)

    def validate(self) -> "TrafficConfig":
        if self.rate_per_worker <= 0:
            raise UsageError(f"traffic rate {self.rate_per_worker} must be positive (requests/s per worker)")
        if self.readiness_interval_s <= 0 or self.timeout_s <= 0:
            raise UsageError("readiness interval and timeout must be positive (seconds)")
        return self


class TrafficEngine:
    def __init__(self, workers: dict[str, str], models: list[str], master_key: str, history: History,
                 config: TrafficConfig = TrafficConfig()):
        self.workers = dict(workers)  # name -> base URL
        self.models = list(models)
        self.master_key = master_key
        self.history = history
        self.config = config.validate()
        self.readiness: dict[str, tuple[float, int | None]] = {}  # worker -> (t, status) of the last poll
        self.sent = 0
        self.skipped = 0  # probes not sent because a worker had too many in flight
        # (worker, from, to): no probe sent there, because the loop fell more than STALL_S behind (CPU
        # starved) or the worker had max_in_flight_per_worker requests open; the harness was
        # blind there, and the report says so
        self.stalls: list[tuple[str, float, float]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._probing = threading.Event()
        self._ready = threading.Event()

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "TrafficEngine":
        self._probing.set()
        self._thread = threading.Thread(target=self._run_loop, name="chaos-traffic", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def pause_probes(self) -> None:
        """Stop sending chat probes (readiness polls and management calls go on)."""
        self._probing.clear()

    def stop(self) -> None:
        if self._loop and self._stopping:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread:
            self._thread.join(self.config.timeout_s + 10)

    def __enter__(self) -> "TrafficEngine":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run_loop(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        # One small pool per worker: httpcore scans its whole pool on every request, so one big
        # shared pool costs CPU per request that grows with the number of connections.
        limits = httpx.Limits(max_connections=self.config.connections_per_worker,
                              max_keepalive_connections=self.config.connections_per_worker)
        headers = {"Authorization": f"Bearer {self.master_key}"}
        async with contextlib.AsyncExitStack() as clients:
            self._clients = {
                w: await clients.enter_async_context(httpx.AsyncClient(timeout=self.config.timeout_s, limits=limits, headers=headers))
                for w in self.workers
            }
            self._ready.set()
            tasks = [asyncio.create_task(self._readiness_loop(w)) for w in self.workers]
            tasks += [asyncio.create_task(self._probe_loop(w)) for w in self.workers]
            await self._stopping.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------ loops
    async def _probe_loop(self, worker: str) -> None:
        period = 1.0 / self.config.rate_per_worker
        in_flight: set[asyncio.Task] = set()
        i = 0
        next_t = time.monotonic()
        capped_since: float | None = None  # start of a run of probes skipped for the in-flight cap
        try:
            while True:
                if self._probing.is_set():
                    if len(in_flight) < self.config.max_in_flight_per_worker:
                        if capped_since is not None:
                            self.stalls.append((worker, capped_since, time.monotonic()))
                            capped_since = None
                        model = self.models[i % len(self.models)]
                        i += 1
                        task = asyncio.create_task(self.chat(worker, model))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                    else:
                        self.skipped += 1
                        capped_since = capped_since or time.monotonic()
                next_t += period
                delay = next_t - time.monotonic()
                if delay < -STALL_S:  # fell behind (CPU starved): record the blind spot, do not burst to catch up
                    self.stalls.append((worker, next_t - period, time.monotonic()))
                    next_t = time.monotonic()
                await asyncio.sleep(max(0.0, delay))
        finally:
            for task in in_flight:
                task.cancel()

    async def _readiness_loop(self, worker: str) -> None:
        while True:
            op = await self._request("readiness", worker, "GET", "/health/readiness")
            self.readiness[worker] = (op.t, op.status)
            await asyncio.sleep(self.config.readiness_interval_s)

    # ------------------------------------------------------------ operations
    async def _request(self, f: str, worker: str, method: str, path: str, *, model: str | None = None,
                       json: dict | None = None, params: dict | None = None, read=None, timeout: float | None = None) -> Op:
        op_id = self.history.next_id()
        t0 = time.monotonic()
        self.history.invoke(op_id, f, worker, t0, model)
        status, body, error, value = None, "", None, None
        try:
            resp = await self._clients[worker].request(method, self.workers[worker] + path, json=json, params=params,
                                                       timeout=timeout or self.config.timeout_s)
            status, body = resp.status_code, resp.text
            if read is not None and status == 200:
                value = read(resp)
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        except asyncio.CancelledError:
            error = "Cancelled"
            raise
        finally:
            cls = classify(status, body, error)
            op = Op(id=op_id, type=op_type(cls), f=f, worker=worker, t0=t0, t=time.monotonic(), model=model,
                    status=status, cls=cls, error=error, detail=None if cls == OK else body[:300] or None, value=value)
            self.history.complete(op)
        return op

    async def chat(self, worker: str, model: str) -> Op:
        self.sent += 1
        return await self._request(
            "chat", worker, "POST", "/v1/chat/completions", model=model,
            json={"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 5},
        )

    async def model_new(self, worker: str, model: str, upstream_url: str) -> Op:
        return await self._request("model_new", worker, "POST", "/model/new", model=model,
                                   json=model_params(model, upstream_url), timeout=self.config.management_timeout_s)

    async def model_info(self, worker: str, model: str) -> Op:
        """Does /model/info on this worker list `model`? (value: True/False)"""

        def found(resp):
            return any(m.get("model_name") == model for m in resp.json().get("data", []))

        return await self._request("model_info", worker, "GET", "/model/info", model=model, read=found,
                                   timeout=self.config.management_timeout_s)

    async def list_models(self, worker: str) -> Op:
        return await self._request("models", worker, "GET", "/v1/models", timeout=self.config.management_timeout_s,
                                   read=lambda r: sorted(m["id"] for m in r.json().get("data", [])))

    def call(self, coro, timeout: float = 60):
        """Run one management coroutine on the engine's loop from synchronous code."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)
