"""Coverage: how much of an invariant's judged window the harness actually observed.

A lane is what one probe loop watches: a (worker, model) pair for chats, a worker for its
listings. A lane is observed by operations with a definite outcome (an HTTP answer, or a refused
connection); a timeout or a reset (Jepsen's info) observes nothing. The run claims to catch any
window of at least its catch window W on every lane: the planned probe interval at the lowest rate
load shedding may go to (machine.LoadShedder), plus STALL_S, and never under MIN_CATCH_S. A lane is
blind where the gap between two definite operations (or between the judged window's edge and the
first or last one) exceeds W: the blind stretch is the gap less W, exactly the start times at
which a window of W could have come and gone unseen. Time a worker was paused by the schedule, or
was (re)starting and not yet listening, is not judged (nothing of it can be seen; that is the
fault, not blindness). Nor is time in which the invariant could not have fired whatever came
back: for the readiness-gated invariants, time the worker's readiness did not say 200; for
recovery, a pair that succeeded within the bound (that success is the proof).

coverage(...) gives, for one invariant: judged_s, blind_s (wall seconds with any lane blind: the
union, not a sum over lanes), blind_share (the blind share of lane-seconds: every lane's blind
seconds over every lane's judged seconds; 420 lanes each missing a probe at another moment would
otherwise blind the whole run), longest_blind_s, the lane it was on and how many probes were sent
in it without an answer (some: the gateway left it unseen; none: the harness did). An invariant that held
with blind_share above the run's threshold, or with a blind stretch longer than the smallest
window the run claims to catch, is unknown (see decide_coverage)."""

from __future__ import annotations

from dataclasses import dataclass

from chaos.errors import UsageError
from chaos.oracle.classify import definite
from chaos.oracle.context import CheckContext, ReadinessIndex
from chaos.run.events import Event
from chaos.run.history import Op

STALL_S = 0.25  # the probe loop's own slack
DEFAULT_MAX_BLIND_SHARE = 0.05
MIN_CATCH_S = 1.0
# load shedding never sends fewer than these shares of the planned chats and listings (machine.LoadShedder);
# chats never so few either that a pair goes unprobed for more than half the recovery bound (chat_floor)
CHAT_FLOOR, LISTING_FLOOR = 0.4, 0.5


def chat_floor(pair_interval_s: float, recovery_bound_s: float) -> float:
    """The lowest share of the planned chats load shedding may go to: CHAT_FLOOR, or more where
    the pairs are so many that fewer chats would leave a pair unprobed for over half the recovery
    bound (recovery could not be judged; 140 models: no chat shedding at all)."""
    return round(min(1.0, max(CHAT_FLOOR, 2 * pair_interval_s / recovery_bound_s)), 3)


# invariant -> (the operations that observe it, where its window starts): chat pairs or listings;
# "run": from the baseline's start, "heal": from the recovery clock, "changes": from the first model change
LANES = {
    "no_invalid_model_strict": ("chat", "run"),
    "no_invalid_model_ready_gated": ("chat", "run"),
    "readiness_truthful": ("chat", "run"),
    "client_invalid_model": ("front_door", "run"),
    "recovery": ("chat", "heal"),
    "no_stall": ("chat", "run"),
    "read_after_create": ("chat", "changes"),
    "listing_consistent": ("listing", "run"),
    "create_propagates": ("listing", "changes"),
    "delete_propagates": ("listing", "changes"),
    "update_propagates": ("listing", "changes"),
    "models_loaded_before_ready": ("listing", "run"),
}
LISTINGS = ("models", "model_info_list")
# they speak only of answers given while the worker's readiness said 200
READY_GATED = ("no_invalid_model_ready_gated", "readiness_truthful")


@dataclass(frozen=True)
class Plan:
    """The probe intervals the run planned (seconds between two probes of one lane)."""

    chat_pair_s: float  # one (worker, model) pair, direct chats
    listing_s: float | None  # one worker's /v1/models or /model/info, whichever is faster (None: off)
    front_door_pair_s: float | None = None  # one model through the front door (None: off)
    chat_floor: float = CHAT_FLOOR  # the lowest share of the planned chats load shedding goes to

    def catch_window_s(self, kind: str = "chat") -> float | None:
        """The smallest window the run claims to catch on every lane of this kind (for chats: the
        smallest 'Invalid model name' window on every pair): the planned interval at the lowest
        rate load shedding goes to, plus STALL_S, never under MIN_CATCH_S (a Python probe loop on
        a shared machine is not steadier than that)."""
        interval = {"chat": self.chat_pair_s, "listing": self.listing_s, "front_door": self.front_door_pair_s}[kind]
        if interval is None:
            return None
        floor = LISTING_FLOOR if kind == "listing" else self.chat_floor
        return round(max(interval / floor + STALL_S, MIN_CATCH_S), 3)


def merge(windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(w for w in windows if w[1] > w[0]):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def total(windows: list[tuple[float, float]]) -> float:
    return sum(b - a for a, b in merge(windows))


def subtract(window: tuple[float, float], holes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """window less the holes."""
    a, b = window
    out, cur = [], a
    for h0, h1 in merge(holes):
        if h1 <= cur or h0 >= b:
            continue
        if h0 > cur:
            out.append((cur, h0))
        cur = max(cur, h1)
    if cur < b:
        out.append((cur, b))
    return out


def blind_stretches(times: list[float], window: tuple[float, float], catch_s: float) -> list[tuple[float, float]]:
    """The stretches of `window` in which a lane observed at `times` was blind (see the module doc)."""
    start, end = window
    inside = sorted(t for t in times if start <= t <= end)
    edges = [start, *inside, end]
    return [(a + catch_s, b) for a, b in zip(edges, edges[1:]) if b - a > catch_s]


def unseeable_windows(ctx: CheckContext) -> dict[str, list[tuple[float, float]]]:
    """Per worker, when nothing of it could be seen, by design of the schedule: paused (SIGSTOP),
    or (re)started and not yet answering on its port (spawn to worker_live). Not judged."""
    out: dict[str, list[tuple[float, float]]] = {}
    for w in ctx.workers:
        for start_kind, end_kind in ((Event.WORKER_PAUSED, Event.WORKER_RESUMED), (Event.WORKER_SPAWNED, Event.WORKER_LIVE)):
            ends = [e["t"] for e in ctx.events_of(end_kind, w)]
            for e in ctx.events_of(start_kind, w):
                end = next((t for t in ends if t >= e["t"]), ctx.end_t)
                out.setdefault(w, []).append((e["t"], end))
    return out


def not_ready_windows(ops: list[Op], ctx: CheckContext, window: tuple[float, float]) -> dict[str, list[tuple[float, float]]]:
    """Per worker, the parts of `window` in which its readiness did not say 200, as the
    readiness-gated checkers read it (ReadinessIndex.ready_at)."""
    ready = ReadinessIndex(ops)
    return {w: subtract(window, ready.ready_spans(w, ctx.readiness_max_age_s)) for w in ctx.workers}


def recovered_in_time(ops: list[Op], ctx: CheckContext) -> set[tuple]:
    """The (worker, model) pairs with a success after heal, answered within the recovery bound."""
    return {(op.worker, op.model) for op in ops if op.f == "chat" and op.via is None and op.cls == "ok"
            and ctx.heal_t <= op.t0 and op.t <= ctx.heal_t + ctx.recovery_bound_s}


def _lane_of(op: Op, kind: str) -> tuple | None:
    """The lane an operation observes, for lanes of `kind`, or None."""
    if kind == "chat" and op.f == "chat" and op.via is None:
        return op.worker, op.model
    if kind == "front_door" and op.f == "chat" and op.via is not None:
        return "front-door", op.model
    if kind == "listing" and op.f in LISTINGS:
        return op.worker, None
    return None


def _lanes(ops: list[Op], kind: str, ctx: CheckContext, models: list[str]) -> tuple[dict[tuple, list[float]], dict[tuple, list[float]]]:
    """lane -> invoke times of its definite operations; and lane -> those of its operations that got
    no definite outcome (a timeout or a reset: the gateway, not the harness, left the lane blind)."""
    if kind == "chat":
        lanes: dict[tuple, list[float]] = {(w, m): [] for w in ctx.workers for m in models}
    elif kind == "front_door":
        lanes = {("front-door", m): [] for m in models}
    else:
        lanes = {(w, None): [] for w in ctx.workers}
    unanswered: dict[tuple, list[float]] = {key: [] for key in lanes}
    for op in ops:
        key = _lane_of(op, kind)
        if key in lanes:
            (lanes if definite(op) else unanswered)[key].append(op.t0)
    return lanes, unanswered


def window_of(start: str, ops: list[Op], ctx: CheckContext) -> tuple[float, float] | None:
    end = ctx.end_t
    if start == "heal":
        if ctx.heal_t is None:
            return None
        return ctx.heal_t, min(end, ctx.heal_t + ctx.recovery_bound_s)
    if start == "changes":
        changes = [op.t0 for op in ops if op.f in ("model_new", "model_delete", "model_update")]
        return (min(changes), end) if changes else None
    return (ctx.baseline[0], end) if ctx.baseline else None


def coverage(name: str, ops: list[Op], ctx: CheckContext, plan: Plan) -> dict | None:
    """What of `name`'s judged window was observed, or None where coverage does not apply (no such
    lanes planned, or an invariant judged on one final read)."""
    if name not in LANES:
        return None
    kind, start = LANES[name]
    catch_s = plan.catch_window_s(kind)
    window = window_of(start, ops, ctx)
    if catch_s is None or window is None or window[1] <= window[0]:
        return None
    # the seeded models, and those created in the run (judged from their create's answer)
    created: dict[str, float] = {}
    for op in ops:
        if op.f == "model_new" and op.cls == "ok" and op.model not in ctx.models:
            created.setdefault(op.model, op.t)
    models = [*ctx.models, *created]
    unseeable = unseeable_windows(ctx)
    if name in READY_GATED:
        for worker, spans in not_ready_windows(ops, ctx, window).items():
            unseeable[worker] = unseeable.get(worker, []) + spans
    recovered = recovered_in_time(ops, ctx) if name == "recovery" else set()
    blind: list[tuple[float, float]] = []
    lane_judged = lane_blind = 0.0
    longest, worst, worst_unanswered = 0.0, None, 0
    lanes, unanswered = _lanes(ops, kind, ctx, models)
    for (worker, model), times in lanes.items():
        lane_window = (max(window[0], created[model]), window[1]) if model in created else window
        if (worker, model) in recovered:  # it succeeded within the bound: nothing unseen can undo that proof
            continue
        for part in subtract(lane_window, unseeable.get(worker, [])):
            lane_judged += part[1] - part[0]
            for a, b in blind_stretches(times, part, catch_s):
                blind.append((a, b))
                lane_blind += b - a
                if b - a > longest:
                    longest, worst = b - a, f"{worker}/{model}" if model else worker
                    # the gap began catch_s before the blind stretch: what was sent in it and never answered
                    worst_unanswered = sum(a - catch_s <= t < b for t in unanswered[(worker, model)])
    judged = window[1] - window[0]
    return {"judged_s": round(judged, 2), "blind_s": round(total(blind), 2),
            "blind_share": round(lane_blind / lane_judged, 4) if lane_judged else 0.0,
            "longest_blind_s": round(longest, 2), "longest_blind_lane": worst,
            "longest_blind_unanswered": worst_unanswered, "catch_window_s": catch_s}


def decide_coverage(cov: dict | None, max_blind_share: float) -> str | None:
    """Why an invariant that held cannot be called a pass for what the run did not see, or None."""
    if not cov:
        return None
    if cov["blind_share"] > max_blind_share:
        return (f"blind for {cov['blind_share']:.0%} of its window's (lane x second) ({max_blind_share:.0%} allowed; "
                f"some lane blind for {cov['blind_s']} s of its {cov['judged_s']} s)")
    if cov["longest_blind_s"] > cov["catch_window_s"]:
        return (f"{cov['longest_blind_lane']} blind for {cov['longest_blind_s']} s, longer than the "
                f"{cov['catch_window_s']} s window the run claims to catch ({blind_cause(cov)})")
    return None


def blind_cause(cov: dict) -> str:
    """Who left the longest blind stretch unseen: the gateway (probes sent, none answered) or the harness."""
    n = cov["longest_blind_unanswered"]
    if n:
        return f"{n} probe(s) sent in it got no answer: timeouts or resets, the gateway did not answer"
    return "no probe was sent in it: the harness lagged"


def check_blind_share(share: float | None) -> float:
    if share is None:
        return DEFAULT_MAX_BLIND_SHARE
    if not 0 < share < 1:
        raise UsageError(f"--max-blind-share {share:g}: expected a share strictly between 0 and 1 (e.g. 0.05 for 5 %)")
    return share
