"""LiteLLM's HTTP API as the harness calls it, in one place: every path, every request body, how
an answer is read, and a small synchronous client (stack start, seed checks, warm reset, the
readiness watch, `chaos smoke`). The async probe engine (traffic.engine) sends the same
requests, built here."""

from __future__ import annotations

import httpx

from chaos.litellm.models import ModelSpec, default_specs
from chaos.upstream.server import ROUTE_MARK

CHAT = "/v1/chat/completions"
MODELS = "/v1/models"
MODEL_INFO = "/model/info"
MODEL_NEW = "/model/new"
MODEL_DELETE = "/model/delete"
MODEL_UPDATE = "/model/update"
READINESS = "/health/readiness"
LIVENESS = "/health/liveliness"  # LiteLLM's spelling


def auth(master_key: str) -> dict:
    return {"Authorization": f"Bearer {master_key}"}


# ---------------------------------------------------------------------------- request bodies
def chat_body(model: str) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 5}


def model_new_body(name: str, upstream_url: str, route: str | None = None, spec: ModelSpec | None = None) -> dict:
    """/model/new's body for a model served by the fake upstream (on `route`, else its default one)."""
    return {"model_name": name, "litellm_params": (spec or default_specs([name])[0]).litellm_params(upstream_url, route)}


def model_delete_body(model_id: str) -> dict:
    return {"id": model_id}


def model_update_body(name: str, model_id: str, upstream_url: str, route: str, spec: ModelSpec | None = None) -> dict:
    """Point `name` (served as `spec` says) at another upstream route."""
    params = model_new_body(name, upstream_url, route, spec=spec)
    return {"model_name": name, "litellm_params": {"api_base": params["litellm_params"]["api_base"]},
            "model_info": {"id": model_id}}


# ---------------------------------------------------------------------------- reading answers
def route_of(body: str) -> str | None:
    """Which upstream route answered a chat (the fake upstream names it in its reply)."""
    i = body.find(ROUTE_MARK)
    if i < 0:
        return None
    rest = body[i + len(ROUTE_MARK):]
    return rest[: rest.find("]")] if "]" in rest else None


def listed_ids(resp: httpx.Response) -> list[str]:
    """/v1/models: the model names listed."""
    return sorted(m["id"] for m in resp.json().get("data", []))


def info_names(resp: httpx.Response) -> list[str]:
    """/model/info: the model names it shows."""
    return sorted({m.get("model_name") for m in resp.json().get("data", []) if m.get("model_name")})


def info_ids(resp: httpx.Response, name: str) -> list[str]:
    """/model/info: the ids LiteLLM gave the deployments of `name`."""
    return [i for m in resp.json().get("data", []) if m.get("model_name") == name
            if (i := m.get("model_info", {}).get("id"))]


# ---------------------------------------------------------------------------- the synchronous client
class LiteLLMClient:
    """Blocking calls to LiteLLM workers (each call names the worker's base URL). Use as a
    context manager; with a master key every call carries it."""

    def __init__(self, master_key: str | None = None, timeout: float = 30.0):
        self._http = httpx.Client(timeout=timeout, headers=auth(master_key) if master_key else {})

    def __enter__(self) -> "LiteLLMClient":
        return self

    def __exit__(self, *exc) -> None:
        self._http.close()

    def chat(self, worker_url: str, model: str) -> httpx.Response:
        return self._http.post(worker_url + CHAT, json=chat_body(model))

    def model_new(self, worker_url: str, body: dict) -> httpx.Response:
        return self._http.post(worker_url + MODEL_NEW, json=body)

    def ready(self, worker_url: str) -> bool:
        """Its readiness says 200 (no answer: not ready)."""
        try:
            return self._http.get(worker_url + READINESS).status_code == 200
        except httpx.HTTPError:
            return False

    def listens(self, worker_url: str, timeout: float) -> bool:
        """Any HTTP answer from its liveness endpoint: the process listens."""
        try:
            self._http.get(worker_url + LIVENESS, timeout=timeout)
            return True
        except httpx.HTTPError:
            return False

    def serves(self, worker_url: str, model: str) -> bool:
        """A chat for `model` answered 200."""
        try:
            return self.chat(worker_url, model).status_code == 200
        except httpx.HTTPError:
            return False
