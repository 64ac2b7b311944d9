"""The fake OpenAI upstream, as a real process on 127.0.0.1."""

import json
import subprocess
import sys
import time

import httpx
import pytest

from chaos.host.ports import pick_free_ports

from .helpers import ROOT


@pytest.fixture(scope="module")
def upstream():
    port = pick_free_ports(["upstream"], exclude=set())["upstream"]
    proc = subprocess.Popen([sys.executable, "-m", "chaos.upstream", "--port", str(port)], cwd=ROOT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _ask(url, **extra):
    return httpx.post(f"{url}/v1/chat/completions", json={"model": "m1", "messages": [{"role": "user", "content": "hi"}]} | extra)


def test_chat_completion_has_unique_ids(upstream):
    ids = {_ask(upstream).json()["id"] for _ in range(20)}
    assert len(ids) == 20 and all(i.startswith("chatcmpl-") for i in ids)
    body = _ask(upstream).json()
    assert body["object"] == "chat.completion" and body["model"] == "m1"
    assert body["choices"][0]["message"]["content"]


def test_streaming_ends_with_done(upstream):
    with httpx.stream("POST", f"{upstream}/v1/chat/completions",
                      json={"model": "m1", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as resp:
        lines = [ln for ln in resp.iter_lines() if ln]
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(ln[len("data: "):]) for ln in lines[:-1]]
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks).strip()


def test_models_lists_what_was_asked(upstream):
    _ask(upstream)
    assert "m1" in [m["id"] for m in httpx.get(f"{upstream}/v1/models").json()["data"]]


def test_behaviour_latency_and_failures(upstream):
    try:
        assert httpx.post(f"{upstream}/_chaos/behaviour", json={"fail_status": 503, "fail_models": ["m2"]}).status_code == 200
        assert _ask(upstream).status_code == 200
        assert _ask(upstream, model="m2").status_code == 503
        httpx.post(f"{upstream}/_chaos/behaviour", json={"latency_ms": 300})
        t = time.monotonic()
        assert _ask(upstream).status_code == 200
        assert time.monotonic() - t >= 0.3
        bad = httpx.post(f"{upstream}/_chaos/behaviour", json={"latency": 1})
        assert bad.status_code == 400 and "latency" in bad.json()["error"]
    finally:
        httpx.post(f"{upstream}/_chaos/behaviour", json={})


def test_probe_engine_records_its_blind_spots(upstream):
    """A probe loop held up (here: its event loop blocked for 0.6 s) does not burst to catch up; the
    stretch it could not probe is recorded, per worker, for the report."""
    from chaos.run.history import History
    from chaos.traffic import TrafficConfig, TrafficEngine

    async def block(seconds):
        time.sleep(seconds)  # on purpose: blocks the engine's loop

    engine = TrafficEngine({"worker-1": upstream}, ["m1"], "sk-test", History(), TrafficConfig(rate_per_worker=40)).start()
    try:
        time.sleep(0.5)
        assert engine.stalls == []  # an idle machine keeps up
        engine.call(block(0.6))
        time.sleep(0.3)
    finally:
        engine.stop()
    assert [w for w, _, _ in engine.stalls] == ["worker-1"]
    assert 0.4 < engine.stalls[0][2] - engine.stalls[0][1] < 1.5


@pytest.mark.parametrize("path, body, text_of", [
    ("/v1/chat/completions", {"model": "m"}, lambda r: r["choices"][0]["message"]["content"]),
    ("/openai/deployments/m/chat/completions?api-version=2024-06-01", {"messages": []},
     lambda r: r["choices"][0]["message"]["content"]),  # Azure
    ("/v1/messages", {"model": "m", "max_tokens": 5}, lambda r: r["content"][0]["text"]),  # Anthropic
    ("/v1beta/models/m:generateContent", {"contents": []}, lambda r: r["candidates"][0]["content"]["parts"][0]["text"]),  # Gemini
])
def test_every_provider_protocol_is_answered_and_names_its_route(upstream, path, body, text_of):
    plain = httpx.post(f"{upstream}{path}", json=body)
    assert plain.status_code == 200 and "[route=default]" in text_of(plain.json())
    routed = httpx.post(f"{upstream}/r/blue{path}", json=body)
    assert routed.status_code == 200 and "[route=blue]" in text_of(routed.json())


def test_an_unknown_endpoint_is_a_404(upstream):
    assert httpx.post(f"{upstream}/v1/embeddings-of-nothing", json={}).status_code == 404
