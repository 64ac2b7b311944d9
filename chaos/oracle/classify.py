"""Classify every response into one outcome class.

`invalid_model` is the harm under test: a 400 tells the client its request is wrong, so it does
not retry. LiteLLM says it as ProxyModelNotFoundError ("Invalid model name passed in model=...")
or, from the router, "There is no 'model_name' with this string" / "There are no healthy
deployments for this model"."""

from __future__ import annotations

OK = "ok"
INVALID_MODEL = "invalid_model"
DB_UNAVAILABLE = "db_unavailable"
UPSTREAM_ERROR = "upstream_error"
WORKER_DOWN = "worker_down"
TIMEOUT = "timeout"
NO_READY_WORKER = "no_ready_worker"  # the front door had no worker passing its readiness probe (HAProxy's 503)
OTHER = "other"
CLASSES = (OK, INVALID_MODEL, DB_UNAVAILABLE, UPSTREAM_ERROR, WORKER_DOWN, TIMEOUT, NO_READY_WORKER, OTHER)
# not an answer of the system under test: the harness cancelled the request (end of traffic)
CANCELLED = "cancelled"

INVALID_MODEL_MARKERS = (
    "Invalid model name passed in model=",
    "There is no 'model_name' with this string",
    "There are no healthy deployments for this model",
)
DB_MARKERS = ("No connected db", "Not connected to DB", "DB not connected", "database", "prisma", "P1001", "P1017", "P2024")
NO_READY_WORKER_MARKER = "No server is available to handle this request"
UPSTREAM_MARKERS = ("OpenAIException", "injected by litellm-chaos", "APIConnectionError", "ServiceUnavailableError")

# transport errors (httpx exception class names) -> class
_TRANSPORT = {
    "Cancelled": CANCELLED,
    "ConnectError": WORKER_DOWN,  # refused: nothing listens (stopped, crashed, restarting)
    "ConnectTimeout": TIMEOUT,
    "ReadTimeout": TIMEOUT,
    "WriteTimeout": TIMEOUT,
    "PoolTimeout": TIMEOUT,
}


# a connection accepted and then closed without an answer: what a port proxy in front of a
# process that does not listen does (Docker's docker-proxy on the compose backend)
RESET_WITHOUT_ANSWER = ("RemoteProtocolError", "ReadError")


def classify(status: int | None, body: str = "", error: str | None = None, reset_is_refused: bool = False) -> str:
    """reset_is_refused: the target sits behind such a proxy, so a reset without an answer means
    what a refused connection means without one (nothing listens): the same class on both backends."""
    if error is not None:
        if reset_is_refused and error in RESET_WITHOUT_ANSWER:
            return WORKER_DOWN
        return _TRANSPORT.get(error, OTHER)
    if status == 200:
        return OK
    if status in (400, 404) and any(m in body for m in INVALID_MODEL_MARKERS):
        return INVALID_MODEL
    if status == 503 and NO_READY_WORKER_MARKER in body:
        return NO_READY_WORKER
    lowered = body.lower()
    if any(m.lower() in lowered for m in DB_MARKERS):
        return DB_UNAVAILABLE
    if any(m.lower() in lowered for m in UPSTREAM_MARKERS):
        return UPSTREAM_ERROR
    return OTHER


def op_type(cls: str) -> str:
    """Jepsen's completion type: ok, fail (definitely did not happen), info (unknown)."""
    if cls == OK:
        return "ok"
    if cls in (TIMEOUT, OTHER, CANCELLED):
        return "info"
    return "fail"


def definite(op) -> bool:
    """Did the operation get an answer a checker may count? An HTTP status, or a refused connection
    (nothing listens: a definite 'not served'). A timeout, a reset or a cancelled request is an
    unknown outcome (Jepsen's :info): never an invalid model, a lost model or a recovered pair."""
    return op.status is not None or op.cls == WORKER_DOWN
