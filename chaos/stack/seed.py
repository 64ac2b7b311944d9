"""Seed models: created through the real /model/new API on one worker, pointing at the fake
upstream, then verified on every worker with a real chat completion."""

from __future__ import annotations

import time

import httpx

from ..errors import StackStartError


def model_params(name: str, upstream_url: str, route: str | None = None) -> dict:
    """/model/new's body for a model served by the fake upstream (on `route`, else its default one)."""
    base = f"{upstream_url}/r/{route}/v1" if route else f"{upstream_url}/v1"
    return {
        "model_name": name,
        "litellm_params": {"model": f"openai/{name}", "api_base": base, "api_key": "fake-upstream-key"},
    }


def chat(client: httpx.Client, worker_url: str, model: str) -> httpx.Response:
    return client.post(
        f"{worker_url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 5},
    )


def create_models(client: httpx.Client, worker_url: str, models: list[str], upstream_url: str) -> None:
    for name in models:
        resp = client.post(f"{worker_url}/model/new", json=model_params(name, upstream_url))
        if resp.status_code != 200:
            raise StackStartError(f"/model/new for {name!r} on {worker_url} answered {resp.status_code}: {resp.text[:300]}")


def verify_everywhere(client: httpx.Client, worker_urls: dict[str, str], models: list[str], timeout: float) -> dict:
    """Wait until every (worker, model) answers a chat completion with 200. Workers other than the
    one that created a model learn it at their next reload, hence the timeout. Returns, per pair,
    the seconds it took."""
    start = time.monotonic()
    pending = {(w, m) for w in worker_urls for m in models}
    took: dict[str, float] = {}
    last: dict[tuple[str, str], str] = {}
    while pending:
        for worker, model in sorted(pending):
            try:
                resp = chat(client, worker_urls[worker], model)
                if resp.status_code == 200:
                    pending.discard((worker, model))
                    took[f"{worker}/{model}"] = round(time.monotonic() - start, 3)
                else:
                    last[(worker, model)] = f"{resp.status_code}: {resp.text[:200]}"
            except httpx.HTTPError as exc:
                last[(worker, model)] = f"{type(exc).__name__}"
        if pending and time.monotonic() - start > timeout:
            worker, model = sorted(pending)[0]
            raise StackStartError(
                f"seed model {model!r} not served by {worker} within {timeout:.0f} s "
                f"({len(pending)} pairs pending); last answer {last.get((worker, model))}"
            )
        if pending:
            time.sleep(0.5)
    return took
