"""A small async OpenAI-compatible server: chat completions (plain and streaming), /v1/models,
unique response ids, and behaviour (latency, failures) changeable at run time through
POST /_chaos/behaviour, so faults can target the provider side too."""

from __future__ import annotations

import asyncio
import json
import random
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
    set_at: float = field(default=0.0, compare=False)  # server clock when set (filled in by the server)

    @classmethod
    def from_dict(cls, d: dict) -> "UpstreamBehaviour":
        known = {f.name for f in fields(cls)} - {"set_at"}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown behaviour fields {sorted(unknown)}; expected some of {sorted(known)}")
        return cls(**{k: v for k, v in d.items() if k != "set_at"})


KEY = web.AppKey("behaviour", UpstreamBehaviour)
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


async def chat_completions(request: web.Request) -> web.StreamResponse:
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": {"message": "body is not JSON", "type": "invalid_request_error"}}, status=400)
    model = str(body.get("model", ""))
    b = request.app[KEY]
    request.app[COUNTS][model] = request.app[COUNTS].get(model, 0) + 1
    await _delay(b)
    if _should_fail(b, model):
        return web.json_response({"error": {"message": b.fail_message, "type": "chaos_injected"}}, status=b.fail_status)
    cid, created = _completion_id(), int(time.time())
    text = f"pong from fake upstream ({model})"
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


async def models(request: web.Request) -> web.Response:
    names = sorted(request.app[COUNTS]) or ["fake-model"]
    return web.json_response({"object": "list", "data": [{"id": n, "object": "model", "owned_by": "litellm-chaos"} for n in names]})


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
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/chat/completions", chat_completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/health", health)
    # so the upstream can also stand in for a gateway in the harness's own benchmarks
    app.router.add_get("/health/readiness", health)
    app.router.add_get("/_chaos/behaviour", get_behaviour)
    app.router.add_post("/_chaos/behaviour", set_behaviour)
    return app
