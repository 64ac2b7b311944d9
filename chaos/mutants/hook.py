"""litellm_chaos_mutant: deliberate behaviour changes of a LiteLLM proxy, for litellm-chaos's selftest.

Installed by `chaos selftest` / `chaos mutant build` into a throw-away copy of a LiteLLM virtualenv
(never into the original), together with litellm_chaos_mutant.pth (which imports this module at
interpreter start) and litellm_chaos_mutant.json (the mutant's name and its patches). Nothing
happens at import but registering an import hook: the patches are applied right after
litellm.proxy.proxy_server has been executed, and each is announced on stderr (the worker's log),
so the evidence shows the mutant really ran.

Self-contained on purpose (the venv has no litellm-chaos): standard library only, plus what the
proxy itself imports. Patches LiteLLM >= 1.106 internals (tested on 1.106.2 and 1.108.7):
ProxyConfig.get_models_from_db (None on a failed read), _update_llm_router, _delete_deployment,
_add_deployment, add_deployment, ProxyStartupEvent.initialize_scheduled_background_jobs, the
module globals prisma_client, scheduler, store_model_in_db, and the FastAPI app.

Patches (each one deliberate and documented):
- readiness_gate: /health/readiness answers 503 until the DB models were loaded once (the fix of #26237)
- db_setup_retry: after a failed start, retry DB setup in the background until the models load:
  re-read store_model_in_db from the DB, register the reload job if missing, load the models, and
  while they still do not load and the DB's port accepts connections again, reconnect the Prisma
  client itself (LiteLLM's reconnect, forced past its cooldown, with a generous timeout) (the fix)
- readiness_lies: /health/readiness answers 200 at once, loaded or not
- evict_on_failed_read: a failed model read at reload evicts every DB model from the router
- non_atomic_reload: every reload drops the DB models from the router for GAP_S before re-adding them
- reload_dies_after_failure: the reload job removes itself after its first failed read (once loaded)
- reload_dies_on_one_worker: the same, on one worker only: the first whose reload fails claims the bug
  (a claim file beside this module, per stack, naming the worker); the others
  keep reloading, so only a change that worker did not make itself shows it
- reload_dies_on_worker_1, reload_dies_on_worker_2: the same, on that worker only (its DATABASE_URL's
  application_name), so the selftest shows the bug caught whichever worker it strikes
- slow_propagation: the reload job runs SLOW_FACTOR times less often than configured
- deletes_never_propagate: a reload never evicts a model deleted in the DB (the deleting worker still does)
- updates_never_propagate: a reload never applies changed parameters to a model already loaded
"""

import asyncio
import importlib.abc
import importlib.machinery
import json
import os
import sys
from urllib.parse import urlsplit

TARGET = "litellm.proxy.proxy_server"
STRIKE_WORKER = {"reload_dies_on_worker_1": "worker-1", "reload_dies_on_worker_2": "worker-2"}
GAP_S = 0.3
SLOW_FACTOR = 10
RETRY_INTERVAL_S = 2.0
# The fix reconnects on its own schedule: LiteLLM's request-triggered reconnects give a new engine 2 s
# and then hold off for their cooldown, which a loaded machine can miss again and again. It waits
# for the DB's port to accept a TCP connection first: a reconnect while the DB is unreachable holds
# LiteLLM's reconnect lock for the engine's whole connect timeout (~10 s), delaying the one after heal.
RECONNECT_EVERY_S = 4.0
RECONNECT_TIMEOUT_S = 30.0
PORT_PROBE_TIMEOUT_S = 1.0

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "litellm_chaos_mutant.json")) as _f:
    CONFIG = json.load(_f)
NAME = CONFIG["name"]
PATCHES = set(CONFIG["patches"])


class _State:
    loaded = False  # the DB models were read and put in the router at least once
    fresh_rows = False  # the last model read succeeded
    read_failed = False  # a model read failed since the last add_deployment began
    background = None  # the db_setup_retry task


STATE = _State()


def _say(message):
    print(f"litellm-chaos mutant {NAME}: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------- the import hook
class _AfterProxyServer(importlib.abc.MetaPathFinder):
    """Finds litellm.proxy.proxy_server as usual, then patches it right after it executed."""

    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_patch(module):
            exec_module(module)
            apply(module)

        spec.loader.exec_module = exec_then_patch
        return spec


def install():
    if not any(isinstance(f, _AfterProxyServer) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterProxyServer())


# ---------------------------------------------------------------------------------- the patches
def apply(ps):
    """Patch the executed proxy_server module `ps`; every patch is announced."""
    cfg = ps.ProxyConfig
    _wrap_model_reads(ps, cfg)
    _wrap_router_update(ps, cfg)
    if PATCHES & {"reload_dies_after_failure", "reload_dies_on_one_worker", *STRIKE_WORKER}:
        _wrap_add_deployment(ps, cfg)
    if "deletes_never_propagate" in PATCHES:
        async def _delete_deployment(self, db_models):
            return None  # nothing evicted, and no reconcile ran (the callers' meaning of None)

        cfg._delete_deployment = _delete_deployment
    if "updates_never_propagate" in PATCHES:
        add = cfg._add_deployment

        def _add_deployment(self, db_models):
            router = ps.llm_router
            loaded = set(router.get_model_ids()) if router is not None else set()
            return add(self, [m for m in db_models if getattr(m, "model_id", None) not in loaded])

        cfg._add_deployment = _add_deployment
    if "slow_propagation" in PATCHES:
        _wrap_scheduled_jobs(ps)
    ps.app.add_middleware(_middleware_for(ps))
    _say(f"applied {sorted(PATCHES)} to LiteLLM {_version()}")


def _version():
    try:
        from importlib.metadata import version

        return version("litellm")
    except Exception:  # noqa: BLE001
        return "?"


def _wrap_model_reads(ps, cfg):
    read = cfg.get_models_from_db

    async def get_models_from_db(self, prisma_client):
        rows = await read(self, prisma_client)
        STATE.fresh_rows = rows is not None
        if rows is None:
            STATE.read_failed = True
            if "evict_on_failed_read" in PATCHES and STATE.loaded:
                _say("model read failed: evicting every DB model")
                return []
        return rows

    cfg.get_models_from_db = get_models_from_db
    if hasattr(cfg, "_get_models_from_db"):
        cfg._get_models_from_db = get_models_from_db


def _wrap_router_update(ps, cfg):
    update = cfg._update_llm_router

    async def _update_llm_router(self, new_models, proxy_logging_obj, *args, **kwargs):
        if "non_atomic_reload" in PATCHES and STATE.loaded and isinstance(new_models, list) and ps.llm_router is not None:
            for row in new_models:
                ps.llm_router.delete_deployment(id=row.model_id)
            await asyncio.sleep(GAP_S)  # the router lacks every DB model meanwhile
        out = await update(self, new_models, proxy_logging_obj, *args, **kwargs)
        if STATE.fresh_rows and isinstance(new_models, list) and not STATE.loaded:
            STATE.loaded = True
            _say(f"DB models loaded ({len(new_models)})")
        return out

    cfg._update_llm_router = _update_llm_router


def _wrap_add_deployment(ps, cfg):
    add_deployment = cfg.add_deployment

    async def add_deployment_then_maybe_die(self, *args, **kwargs):
        STATE.read_failed = False
        ok = False
        try:
            out = await add_deployment(self, *args, **kwargs)
            ok = True
            return out
        finally:
            scheduler = ps.scheduler
            if ((STATE.read_failed or not ok) and STATE.loaded and scheduler is not None
                    and scheduler.get_job("add_deployment_job") and _struck()):
                scheduler.remove_job("add_deployment_job")
                _say("a reload failed: the reload job removed itself")

    cfg.add_deployment = add_deployment_then_maybe_die


def _worker_name():
    """This worker's name: the application_name litellm-chaos puts in its DATABASE_URL (LiteLLM
    appends parameters of its own to that variable, so the query is parsed, not its end)."""
    from urllib.parse import parse_qs

    return (parse_qs(urlsplit(os.environ.get("DATABASE_URL", "")).query).get("application_name") or [""])[0]


def _struck():
    """Does the reload bug strike this worker? Everywhere for reload_dies_after_failure; for
    reload_dies_on_one_worker only on the first worker of this stack whose reload failed."""
    for patch, worker in STRIKE_WORKER.items():
        if patch in PATCHES:
            return _worker_name() == worker
    if "reload_dies_on_one_worker" not in PATCHES:
        return True
    import hashlib

    stack = hashlib.sha256(os.environ.get("LITELLM_MASTER_KEY", "").encode()).hexdigest()[:16]
    me = _worker_name()
    claim = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"litellm_chaos_mutant-{stack}.claim")
    try:
        fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        with open(claim) as f:
            return f.read().strip() == me
    with os.fdopen(fd, "w") as f:
        f.write(me)
    _say("this worker's reload failed first: the bug strikes it alone")
    return True


def _reload_interval(ps):
    return getattr(ps, "proxy_config_reload_interval_seconds", 30) or 30


def _slow_down(ps):
    scheduler = ps.scheduler
    if scheduler is not None and scheduler.get_job("add_deployment_job"):
        seconds = _reload_interval(ps) * SLOW_FACTOR
        scheduler.reschedule_job("add_deployment_job", trigger="interval", seconds=seconds)
        _say(f"reload job rescheduled every {seconds} s")


def _wrap_scheduled_jobs(ps):
    events = ps.ProxyStartupEvent
    init = events.__dict__["initialize_scheduled_background_jobs"].__func__

    async def initialize_scheduled_background_jobs(cls, *args, **kwargs):
        out = await init(cls, *args, **kwargs)
        _slow_down(ps)
        return out

    events.initialize_scheduled_background_jobs = classmethod(initialize_scheduled_background_jobs)


async def _retry_db_setup(ps):
    """db_setup_retry: until the DB models load once, every RETRY_INTERVAL_S: learn store_model_in_db
    from the DB if only it says so, register the reload job if the failed start skipped it, load;
    while they do not load, reconnect (at most every RECONNECT_EVERY_S)."""
    loop = asyncio.get_running_loop()
    last_reconnect = float("-inf")
    while not STATE.loaded:
        await asyncio.sleep(RETRY_INTERVAL_S)
        client = ps.prisma_client
        if client is None:
            continue
        try:
            if ps.store_model_in_db is not True:
                row = await client.db.litellm_config.find_first(where={"param_name": "general_settings"})
                value = getattr(row, "param_value", None) or {}
                if isinstance(value, dict) and str(value.get("store_model_in_db")).lower() == "true":
                    ps.store_model_in_db = True
                    ps.general_settings["store_model_in_db"] = True
                    _say("store_model_in_db=True read from the DB on retry")
            if ps.store_model_in_db is not True:
                continue  # the DB answered: nothing to load from it
            scheduler = ps.scheduler
            if scheduler is not None and scheduler.get_job("add_deployment_job") is None:
                factor = SLOW_FACTOR if "slow_propagation" in PATCHES else 1
                scheduler.add_job(ps.proxy_config.add_deployment, "interval", seconds=_reload_interval(ps) * factor,
                                  args=[client, ps.proxy_logging_obj], id="add_deployment_job", replace_existing=True)
                _say("registered the reload job the failed start skipped")
            await ps.proxy_config.add_deployment(prisma_client=client, proxy_logging_obj=ps.proxy_logging_obj)
        except Exception as exc:  # noqa: BLE001 - the DB is still away
            _say(f"DB setup retry failed: {type(exc).__name__}")
        # add_deployment swallows DB errors: models still not loaded means the DB path is still broken
        if not STATE.loaded and loop.time() - last_reconnect >= RECONNECT_EVERY_S and await _db_port_open():
            last_reconnect = loop.time()
            await _reconnect(client)


async def _db_port_open():
    """Whether DATABASE_URL's host and port accept a TCP connection (True when it cannot tell)."""
    try:
        url = urlsplit(os.environ.get("DATABASE_URL", ""))
        host, port = url.hostname, url.port or 5432
    except ValueError:
        return True
    if not host:
        return True
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), PORT_PROBE_TIMEOUT_S)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    return True


async def _reconnect(client):
    """LiteLLM's own reconnect (1.106+), forced past its cooldown; else disconnect + connect."""
    try:
        reconnect = getattr(client, "attempt_db_reconnect", None)
        if reconnect is not None:
            ok = await reconnect(reason="litellm-chaos fixed build: DB setup retry", force=True,
                                 timeout_seconds=RECONNECT_TIMEOUT_S)
        else:
            await client.disconnect()
            await client.connect()
            ok = True
        _say("reconnected on retry" if ok else "reconnect on retry did not succeed")
    except Exception as exc:  # noqa: BLE001 - next round
        _say(f"reconnect failed: {type(exc).__name__}")


async def _respond(send, status, body):
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def _middleware_for(ps):
    class ChaosMutantMiddleware:
        """Readiness as the mutant says, and the background retry started with the first request."""

        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                if "db_setup_retry" in PATCHES and STATE.background is None:
                    STATE.background = asyncio.get_running_loop().create_task(_retry_db_setup(ps))
                if scope.get("path") == "/health/readiness" and scope.get("method") == "GET":
                    if "readiness_lies" in PATCHES:
                        return await _respond(send, 200, {"status": "healthy", "chaos_mutant": NAME})
                    if "readiness_gate" in PATCHES and not STATE.loaded:
                        return await _respond(send, 503, {"status": "not ready: the DB models have not been loaded yet",
                                                          "chaos_mutant": NAME})
            await self.app(scope, receive, send)

    return ChaosMutantMiddleware


install()
