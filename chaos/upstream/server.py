"""A small async OpenAI-compatible server: chat completions (plain and streaming), /v1/models,
unique response ids, and behaviour (latency, failures) changeable at run time through
POST /_chaos/behaviour, so faults can target the provider side too.

Routes: a model whose api_base is `<upstream>/v1` is answered on the default route; one pointed
at `<upstream>/r/<name>/v1` (e.g. after /model/update) on route <name>. Every reply says which
(`[route=<name>]` in its text), so the harness can tell which parameters a worker served with.

For the harness's own benchmarks it can also stand in for a gateway's listings: `list_models`
in the behaviour makes /v1/models and /model/info show those names, minus `hide_models` for
`hide_for_ms` after the behaviour is set (a listing flicker)."""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from dataclasses import asdict, dataclass, field, fields

from aiohttp import web


@dataclass
class UpstreamBehaviour:
    latency_ms: float = 0.0  # added before every answer
    jitter_ms: float = 0.0  # uniform extra latency in [0, jitter_ms]
    fail_status: int = 0  # when non-zero, answer this HTTP status ...
    fail_rate: float = 1.0  # ... to this fraction of requests ...
    fail_models: list[str] = field(default_factory=list)  # ... for these models (empty: all)
    fail_message: str = "upstream failure injected by litellm-chaos"
    fail_for_ms: float = 0.0  # failures stop by themselves this long after the behaviour is set (0: never)
    list_models: list[str] = field(default_factory=list)  # as a stand-in gateway: the models it lists
    hide_models: list[str] = field(default_factory=list)  # ... minus these ...
    hide_for_ms: float = 0.0  # ... for this long after the behaviour is set
    set_at: float = field(default=0.0, compare=False)  # server clock when set (filled in by the server)

    @classmethod
    def from_dict(cls, d: dict) -> "UpstreamBehaviour":
        known = {f.name for f in fields(cls)} - {"set_at"}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown behaviour fields {sorted(unknown)}; expected some of {sorted(known)}")
        return cls(**{k: v for k, v in d.items() if k != "set_at"})


KEY = web.AppKey("behaviour", UpstreamBehaviour)
ROUTE_MARK = "[route="
DEFAULT_ROUTE = "default"
COUNTS = web.AppKey("counts", dict)


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


async def _delay(b: UpstreamBehaviour) -> None:
    seconds = (b.latency_ms + random.uniform(0, b.jitter_ms)) / 1000
    if seconds > 0:
        await asyncio.sleep(seconds)


def _should_fail(b: UpstreamBehaviour, model: str) -> bool:
    if not b.fail_status:
        return False
    if b.fail_for_ms and (time.monotonic() - b.set_at) * 1000 > b.fail_for_ms:
        return False
    if b.fail_models and model not in b.fail_models:
        return False
    return random.random() < b.fail_rate


_ROUTED = re.compile(r"^/r/(?P<route>[A-Za-z0-9]+)(?P<rest>/.*)$")


async def provider_call(request: web.Request) -> web.StreamResponse:
    """Any provider call, told apart by its path: OpenAI-compatible (`.../chat/completions`, Azure's
    deployments too), Anthropic (`.../messages`), Gemini (`.../models/M:generateContent`); under
    `/r/<route>/` it is answered on that route."""
    path = request.path
    routed = _ROUTED.match(path)
    route, path = (routed["route"], routed["rest"]) if routed else (DEFAULT_ROUTE, path)
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": {"message": "body is not JSON", "type": "invalid_request_error"}}, status=400)
    if path.endswith("/chat/completions"):
        kind, model = "openai", str(body.get("model", ""))
    elif path.endswith("/messages"):
        kind, model = "anthropic", str(body.get("model", ""))
    elif ":generateContent" in path:
        kind, model = "gemini", path.rsplit("/", 1)[-1].split(":", 1)[0]
    else:
        return web.json_response({"error": {"message": f"no such provider endpoint: {request.path}"}}, status=404)
    b = request.app[KEY]
    request.app[COUNTS][model] = request.app[COUNTS].get(model, 0) + 1
    await _delay(b)
    if _should_fail(b, model):
        return web.json_response({"error": {"message": b.fail_message, "type": "chaos_injected"}}, status=b.fail_status)
    text = f"pong from fake upstream ({model}) {ROUTE_MARK}{route}]"
    if kind == "anthropic":
        return web.json_response({"id": f"msg_{uuid.uuid4().hex}", "type": "message", "role": "assistant", "model": model,
                                  "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                                  "usage": {"input_tokens": 5, "output_tokens": 6}})
    if kind == "gemini":
        return web.json_response({"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP",
                                                  "index": 0}],
                                  "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 6, "totalTokenCount": 11},
                                  "modelVersion": model})
    return await _openai_answer(request, body, model, text)


async def _openai_answer(request: web.Request, body: dict, model: str, text: str) -> web.StreamResponse:
    cid, created = _completion_id(), int(time.time())
    if body.get("stream"):
        return await _stream(request, cid, created, model, text)
    return web.json_response(
        {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
        }
    )


async def _stream(request, cid, created, model, text) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await resp.prepare(request)
    pieces = [{"role": "assistant", "content": ""}] + [{"content": w + " "} for w in text.split()]
    for i, delta in enumerate(pieces):
        finish = "stop" if i == len(pieces) - 1 else None
        chunk = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


def _listed(app: web.Application) -> list[str]:
    b = app[KEY]
    if not b.list_models:
        return sorted(app[COUNTS]) or ["fake-model"]
    hidden = set(b.hide_models) if (time.monotonic() - b.set_at) * 1000 < b.hide_for_ms else set()
    return [n for n in b.list_models if n not in hidden]


async def models(request: web.Request) -> web.Response:
    names = _listed(request.app)
    return web.json_response({"object": "list", "data": [{"id": n, "object": "model", "owned_by": "litellm-chaos"} for n in names]})


async def model_info(request: web.Request) -> web.Response:
    """As a stand-in gateway (benchmarks): LiteLLM's /model/info shape."""
    return web.json_response({"data": [{"model_name": n, "model_info": {"id": n}} for n in _listed(request.app)]})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def get_behaviour(request: web.Request) -> web.Response:
    return web.json_response(asdict(request.app[KEY]) | {"requests_per_model": request.app[COUNTS]})


async def set_behaviour(request: web.Request) -> web.Response:
    try:
        behaviour = UpstreamBehaviour.from_dict(await request.json())
        behaviour.set_at = time.monotonic()
        request.app[KEY] = behaviour
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(asdict(request.app[KEY]))


def build_app(behaviour: UpstreamBehaviour | None = None) -> web.Application:
    app = web.Application()
    app[KEY] = behaviour or UpstreamBehaviour()
    app[COUNTS] = {}
    app.router.add_get("/v1/models", models)
    app.router.add_get("/health", health)
    # so the upstream can also stand in for a gateway in the harness's own benchmarks
    app.router.add_get("/health/readiness", health)
    app.router.add_get("/model/info", model_info)
    app.router.add_get("/_chaos/behaviour", get_behaviour)
    app.router.add_post("/_chaos/behaviour", set_behaviour)
    app.router.add_post("/{tail:.*}", provider_call)  # last: every provider's chat endpoint
    return app
