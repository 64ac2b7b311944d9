"""An async httpx probe engine in its own thread (so scenario code stays synchronous).

- chat probes: `rate_per_worker` chat completions per second per worker in all, round robin over
  the models it knows: the front door's share (front_door_rate spread over the workers) comes
  out of it, the rest hits each worker directly (one machine runs the whole fleet: more
  load would make the gateway slow for reasons of the harness's making); requests are not
  serialised (a hung worker does not slow the others) but in-flight requests per worker are capped;
- listing probes: every worker's /v1/models (`listing_rate_per_worker`) and /model/info
  (`model_info_rate_per_worker`), because LiteLLM 1.106+ answers a chat for a model its router
  lacks by reading the DB (read-through), so model-state bugs only show in what a worker lists;
- the front door (when the stack has one): `front_door_rate` chat completions per second through
  the readiness-gated load balancer, as a client of a Kubernetes Service sees the fleet;
- readiness: every worker's /health/readiness every `readiness_interval_s`;
- management calls (/model/new, /model/info, /model/delete, /model/update) on demand, at a
  worker or through the front door.
Everything lands in the History as invoke + completion, with monotonic times."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass

import httpx

from chaos.errors import UsageError
from chaos.oracle.classify import OK, classify, op_type
from chaos.run.history import History, Op
from chaos.traffic import litellm_api as api

# the probe loop more than this late: a blind spot (recorded as a probe_stall), and it skips ahead
STALL_S = 0.25
FRONT_DOOR = "front-door"  # the target name of requests through the front door
SERVED_BY_HEADER = "x-chaos-served-by"  # the front door names the worker that answered


@dataclass(frozen=True)
class TrafficConfig:
    # chat requests per second per worker: 40 over 3 models probes each pair every 75 ms, so a
    # 100 ms "Invalid model name" window is caught (benchmarks/probe_engine.py)
    rate_per_worker: float = 40.0  # the chat budget per worker, the front door's share included
    # /v1/models and /model/info polls per second per worker (0: off); see benchmarks/listing_probes.py
    listing_rate_per_worker: float = 10.0
    model_info_rate_per_worker: float = 2.0
    front_door_rate: float = 20.0  # chat requests per second through the front door (0: off)
    readiness_interval_s: float = 0.25
    timeout_s: float = 5.0  # chat probes, listings and readiness
    # /model/new, /model/update and reads: slower by nature (1.106.2 took over 30 s after a DB blip)
    management_timeout_s: float = 60.0
    max_in_flight_per_worker: int = 200
    connections_per_worker: int = 32  # more in flight wait for a connection (and may time out)
    rate_source: str = "default"  # why this rate: --rate, the scenario's, the load budget (options.plan_traffic)

    def validate(self) -> "TrafficConfig":
        if self.rate_per_worker <= 0:
            raise UsageError(f"traffic rate {self.rate_per_worker} must be positive (requests/s per worker)")
        for name in ("listing_rate_per_worker", "model_info_rate_per_worker", "front_door_rate"):
            if getattr(self, name) < 0:
                raise UsageError(f"{name}={getattr(self, name)} must be zero (off) or positive (per second)")
        if self.readiness_interval_s <= 0 or self.timeout_s <= 0:
            raise UsageError("readiness interval and timeout must be positive (seconds)")
        return self


class TrafficEngine:
    def __init__(self, workers: dict[str, str], models: list[str], master_key: str, history: History,
                 config: TrafficConfig = TrafficConfig(), front_door_url: str | None = None,
                 reset_is_refused: bool = False):
        self.workers = dict(workers)  # name -> base URL
        self.reset_is_refused = reset_is_refused  # the workers sit behind a port proxy (oracle.classify)
        self.front_door_url = front_door_url
        self.models = list(models)  # every model probed: seeded, created, and deleted ones (to see they go)
        self.master_key = master_key
        self.history = history
        self.config = config.validate()
        if front_door_url and workers and self.direct_rate < config.rate_per_worker / 2:
            raise UsageError(f"the front door's {config.front_door_rate:g} chats/s over {len(workers)} worker(s) would take more "
                             f"than half the chat budget of {config.rate_per_worker:g}/s per worker; lower it or raise --rate")
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
        # shares of the planned chat and listing rates actually sent (machine.LoadShedder lowers them
        # under CPU pressure, chats first)
        self.chat_scale = 1.0
        self.listing_scale = 1.0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "TrafficEngine":
        self._probing.set()
        self._thread = threading.Thread(target=self._run_loop, name="chaos-traffic", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def pause_probes(self) -> None:
        """Stop sending chat and listing probes (readiness polls and management calls go on)."""
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

    @property
    def direct_rate(self) -> float:
        """Chat probes per second straight at each worker: the budget minus the front door's share."""
        share = self.config.front_door_rate / len(self.workers) if self.front_door_url and self.workers else 0.0
        return self.config.rate_per_worker - share

    def add_model(self, name: str) -> None:
        """Probe this model everywhere from now on (a model created during the run)."""
        if name not in self.models:
            self.models.append(name)

    def _run_loop(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        # One small pool per target: httpcore scans its whole pool on every request, so one big
        # shared pool costs CPU per request that grows with the number of connections.
        limits = httpx.Limits(max_connections=self.config.connections_per_worker,
                              max_keepalive_connections=self.config.connections_per_worker)
        headers = api.auth(self.master_key)
        targets = dict(self.workers) | ({FRONT_DOOR: self.front_door_url} if self.front_door_url else {})
        self._base = targets
        c = self.config
        async with contextlib.AsyncExitStack() as clients:
            self._clients = {
                name: await clients.enter_async_context(httpx.AsyncClient(timeout=c.timeout_s, limits=limits, headers=headers))
                for name in targets
            }
            self._ready.set()
            tasks = [asyncio.create_task(self._readiness_loop(w)) for w in self.workers]
            chats, listings = (lambda: self.chat_scale), (lambda: self.listing_scale)
            for w in self.workers:
                tasks.append(asyncio.create_task(self._paced(w, self.direct_rate, chats, self._next_chat(w), record_stalls=True)))
                if c.listing_rate_per_worker:
                    tasks.append(asyncio.create_task(self._paced(w, c.listing_rate_per_worker, listings, lambda w=w: self.list_models(w))))
                if c.model_info_rate_per_worker:
                    tasks.append(asyncio.create_task(self._paced(w, c.model_info_rate_per_worker, listings,
                                                                 lambda w=w: self.list_model_info(w))))
            if self.front_door_url and c.front_door_rate:
                tasks.append(asyncio.create_task(self._paced(FRONT_DOOR, c.front_door_rate, chats, self._next_chat(FRONT_DOOR),
                                                             record_stalls=True)))
            await self._stopping.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------ loops
    def _next_chat(self, target: str):
        """A round robin over the models known at each call (created models join it)."""
        counter = iter(range(1 << 62))

        def make():
            return self.chat(target, self.models[next(counter) % len(self.models)])

        return make

    async def _paced(self, target: str, rate: float, scale, make, record_stalls: bool = False) -> None:
        """Start make() `rate` x scale() times per second while probing is on, never more than
        max_in_flight_per_worker at once; when the loop falls behind, record the blind spot and
        skip ahead (no burst to catch up)."""
        in_flight: set[asyncio.Task] = set()
        next_t = time.monotonic()
        capped_since: float | None = None  # start of a run of probes skipped for the in-flight cap
        try:
            while True:
                if self._probing.is_set():
                    if len(in_flight) < self.config.max_in_flight_per_worker:
                        if capped_since is not None:
                            if record_stalls:
                                self.stalls.append((target, capped_since, time.monotonic()))
                            capped_since = None
                        task = asyncio.create_task(make())
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                    else:
                        self.skipped += 1
                        capped_since = capped_since or time.monotonic()
                period = 1.0 / (rate * scale())
                next_t += period
                delay = next_t - time.monotonic()
                if delay < -STALL_S:
                    if record_stalls:
                        self.stalls.append((target, next_t - period, time.monotonic()))
                    next_t = time.monotonic()
                await asyncio.sleep(max(0.0, delay))
        finally:
            for task in in_flight:
                task.cancel()

    async def _readiness_loop(self, worker: str) -> None:
        while True:
            op = await self._request("readiness", worker, "GET", api.READINESS)
            self.readiness[worker] = (op.t, op.status)
            await asyncio.sleep(self.config.readiness_interval_s)

    # ------------------------------------------------------------ operations
    async def _request(self, f: str, target: str, method: str, path: str, *, model: str | None = None,
                       json_body: dict | None = None, read=None, timeout: float | None = None, value=None) -> Op:
        op_id = self.history.next_id()
        via = "front_door" if target == FRONT_DOOR else None
        t0 = time.monotonic()
        self.history.invoke(op_id, f, target, t0, model)
        status, body, error, served_by = None, "", None, None
        try:
            resp = await self._clients[target].request(method, self._base[target] + path, json=json_body,
                                                        timeout=timeout or self.config.timeout_s)
            status, body = resp.status_code, resp.text
            served_by = resp.headers.get(SERVED_BY_HEADER) if via else None
            if read is not None and status == 200:
                value = read(resp)
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a 200 whose body is not what LiteLLM sends
            error = f"Unreadable{type(exc).__name__}"
        except asyncio.CancelledError:
            error = "Cancelled"
            raise
        finally:
            cls = classify(status, body, error, reset_is_refused=self.reset_is_refused and via is None)
            op = Op(id=op_id, type=op_type(cls), f=f, worker=target, t0=t0, t=time.monotonic(), model=model,
                    status=status, cls=cls, error=error, detail=None if cls == OK else body[:300] or None, value=value,
                    via=via, served_by=served_by)
            self.history.complete(op)
        return op

    async def chat(self, target: str, model: str) -> Op:
        """A chat completion; an ok answer's value is the upstream route that served it."""
        self.sent += 1
        return await self._request(
            "chat", target, "POST", api.CHAT, model=model, json_body=api.chat_body(model), read=lambda r: api.route_of(r.text),
        )

    async def list_models(self, worker: str) -> Op:
        """/v1/models: value = the model names listed."""
        return await self._request("models", worker, "GET", api.MODELS, read=api.listed_ids)

    async def list_model_info(self, worker: str) -> Op:
        """/model/info: value = the model names it shows."""
        return await self._request("model_info_list", worker, "GET", api.MODEL_INFO, read=api.info_names)

    async def model_new(self, target: str, model: str, upstream_url: str) -> Op:
        return await self._request("model_new", target, "POST", api.MODEL_NEW, model=model,
                                   json_body=api.model_new_body(model, upstream_url), timeout=self.config.management_timeout_s)

    async def model_info(self, target: str, model: str) -> Op:
        """Does /model/info there show `model`? (value: True/False)"""
        return await self._request("model_info", target, "GET", api.MODEL_INFO, model=model,
                                   read=lambda r: model in api.info_names(r), timeout=self.config.management_timeout_s)

    async def model_id(self, target: str, model: str) -> str | None:
        """The id LiteLLM gave `model`, read from /model/info as a client would (recorded as a read)."""
        found: list[str] = []

        def read(resp):
            found.extend(api.info_ids(resp, model))
            return bool(found)

        await self._request("model_info", target, "GET", api.MODEL_INFO, model=model, read=read,
                            timeout=self.config.management_timeout_s)
        return found[0] if found else None

    async def model_delete(self, target: str, model: str, model_id: str) -> Op:
        return await self._request("model_delete", target, "POST", api.MODEL_DELETE, model=model,
                                   json_body=api.model_delete_body(model_id), timeout=self.config.management_timeout_s)

    async def model_update(self, target: str, model: str, model_id: str, upstream_url: str, route: str, spec=None) -> Op:
        """Point `model` (served as `spec` says) at another upstream route; the op's value is that route."""
        body = api.model_update_body(model, model_id, upstream_url, route, spec=spec)
        return await self._request("model_update", target, "POST", api.MODEL_UPDATE, model=model, json_body=body,
                                   timeout=self.config.management_timeout_s, value=route)

    async def via_db(self, f: str, model: str, write, value=None) -> Op:
        """A model change written straight into the DB (`write()`, blocking, run in a thread), as
        another replica or the admin UI would: recorded like an API call, target "db"."""
        op_id, t0 = self.history.next_id(), time.monotonic()
        self.history.invoke(op_id, f, "db", t0, model)
        error = None
        try:
            await asyncio.wait_for(asyncio.to_thread(write), self.config.management_timeout_s)
        except Exception as exc:  # noqa: BLE001 - the DB's answer, whatever it was, is the op's outcome
            error = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
        cls = OK if error is None else "db_write_failed"
        return self.history.complete(Op(id=op_id, type="ok" if error is None else "fail", f=f, worker="db", t0=t0,
                                        t=time.monotonic(), model=model, status=None, cls=cls, error=error, value=value,
                                        via="db"))

    def call(self, coro, timeout: float | None = None):
        """Run one management coroutine on the engine's loop from synchronous code (by default it may
        take as long as a management call may, and a little more)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout or self.config.management_timeout_s + 10)

