"""The timeline plot: one lane per worker plus a fault lane, time on x.

Each worker lane has one row per outcome class, so an `ok` and an `invalid_model` in the same
instant are both visible. Downsampling is by presence: time is cut into one bin per pixel
column and a bin is marked in a class's row if at least one operation of that class fell in it;
consecutive marked bins merge into one bar. A single violation therefore always shows (drawn at
least 3 px wide, on top). Fault windows are shaded across all lanes and labelled; worker stops,
spawns and readiness, readiness answers and model-table reads are marked; the first violation
is annotated."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from chaos.evidence import layout
from chaos.evidence.load import Evidence  # noqa: E402
from chaos.oracle.classify import (  # noqa: E402
    DB_UNAVAILABLE,
    INVALID_MODEL,
    NO_READY_WORKER,
    OK,
    OTHER,
    TIMEOUT,
    UPSTREAM_ERROR,
    WORKER_DOWN,
)
from chaos.run.events import Event  # noqa: E402

# rows inside a worker lane, top to bottom; anything else (e.g. cancelled) goes to "other"
ROWS = (OK, INVALID_MODEL, DB_UNAVAILABLE, WORKER_DOWN, TIMEOUT, UPSTREAM_ERROR, NO_READY_WORKER, OTHER)
COLOURS = {OK: "#2e9d4a", INVALID_MODEL: "#d7191c", DB_UNAVAILABLE: "#f08a24", WORKER_DOWN: "#7b3294",
           TIMEOUT: "#2c7bb6", UPSTREAM_ERROR: "#a6611a", NO_READY_WORKER: "#c2a5cf", OTHER: "#808080"}
FRONT_DOOR_LANE = "front-door"  # what clients of the front door got (a lane of its own, at the bottom)
WORKER_MARKS = {  # event kind -> (marker, colour, label)
    Event.WORKER_STOPPED: ("v", "#000000", "stopped"),
    Event.WORKER_KILLED: ("X", "#000000", "killed"),
    Event.WORKER_EXITED: ("x", "#d7191c", "exited"),
    Event.WORKER_SPAWNED: ("^", "#555555", "spawned"),
    Event.WORKER_READY: ("o", "#2e9d4a", "first readiness 200"),
    Event.WORKER_PAUSED: ("s", "#555555", "paused"),
    Event.MODEL_TABLE_READ: ("d", "#1f78b4", "model table read (reload)"),
}
ROW_H = 1.0
LANE_GAP = 1.2
WIDTH_PX, HEIGHT_PX, DPI = 1600, 900, 100
PRESSURE_H = 2.0  # the CPU pressure strip's height (100 %)


def render_timeline(ev: Evidence, width_px: int = WIDTH_PX, height_px: int = HEIGHT_PX) -> bytes:
    """The timeline as PNG bytes."""
    chats = [op for op in ev.ops if op.get("f") == "chat"]
    workers = ev.workers() or ["worker-1"]
    if any(op.get("worker") == FRONT_DOOR_LANE for op in chats):
        workers.append(FRONT_DOOR_LANE)
    t_lo, t_hi = _time_range(ev, chats)
    fig, ax = plt.subplots(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
    try:
        bins = int(width_px * 0.85)  # about one bin per pixel column of the plot area
        lane_h = len(ROWS) * ROW_H + 1  # + the readiness strip
        lanes = {w: (len(workers) - 1 - i) * (lane_h + LANE_GAP) for i, w in enumerate(workers)}
        fault_lane_y = len(workers) * (lane_h + LANE_GAP)
        _draw_outcomes(ax, chats, lanes, t_lo, t_hi, bins)
        _draw_readiness(ax, ev, lanes, t_lo, t_hi)
        _draw_faults(ax, ev, fault_lane_y, t_lo, t_hi)
        _draw_worker_events(ax, ev, lanes, lane_h, t_lo)
        _draw_violations(ax, ev, lanes, lane_h, t_lo)
        _annotate_first_violation(ax, ev, lanes, t_lo)
        pressure_y = fault_lane_y + 3
        _draw_pressure(ax, ev, pressure_y, t_lo)
        ax.set_xlim(0, t_hi - t_lo)
        ax.set_ylim(-0.8, pressure_y + PRESSURE_H + 0.3)
        ax.set_yticks([y + lane_h / 2 for y in lanes.values()] + [fault_lane_y + 1.2, pressure_y + PRESSURE_H / 2],
                      list(lanes) + ["faults", "CPU pressure"])
        for y in lanes.values():
            ax.axhline(y - LANE_GAP / 2, color="#dddddd", lw=0.8)
        ax.set_xlabel("seconds since the first probe")
        what = ev.what_ran
        ax.set_title(f"{ev.scenario}: {ev.status.upper()}   LiteLLM {what.get('litellm_version')} "
                     f"({what.get('backend')} backend)   {len(chats)} chat probes", loc="left", fontsize=12)
        _legend(ax, chats)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
        return buf.getvalue()
    finally:
        plt.close(fig)


def _time_range(ev: Evidence, chats: list[dict]) -> tuple[float, float]:
    if chats:
        lo, hi = min(op["t0"] for op in chats), max(op["t"] for op in chats)
    elif ev.events:
        lo, hi = ev.events[0]["t"], ev.events[-1]["t"]
    else:
        lo, hi = 0.0, 1.0
    return lo, max(hi, lo + 1.0)


def _row_y(lane_y: float, cls: str) -> float:
    row = ROWS.index(cls) if cls in ROWS else ROWS.index(OTHER)
    return lane_y + 1 + (len(ROWS) - 1 - row) * ROW_H  # readiness strip at the bottom, ok on top


def _runs(bins: np.ndarray) -> list[tuple[int, int]]:
    """Sorted unique bin numbers -> (first bin, number of bins) of each run of consecutive bins."""
    if bins.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(bins) > 1)
    starts = np.concatenate(([bins[0]], bins[breaks + 1]))
    ends = np.concatenate((bins[breaks], [bins[-1]]))
    return list(zip(starts.tolist(), (ends - starts + 1).tolist()))


def _draw_outcomes(ax, chats, lanes, t_lo, t_hi, bins) -> None:
    if not chats:
        return
    span = t_hi - t_lo
    bin_s = span / bins
    min_w = span / (WIDTH_PX * 0.85) * 3  # a lone mark is at least 3 px wide
    times = np.fromiter((op["t0"] for op in chats), float, len(chats))
    which = np.clip(((times - t_lo) / bin_s).astype(np.int64), 0, bins - 1)
    names = list(lanes)
    row_of = {cls: i for i, cls in enumerate(ROWS)}
    other = row_of[OTHER]
    # one integer per (worker, row); operations of workers without a lane are left out
    codes = np.fromiter(((names.index(op["worker"]) if op["worker"] in lanes else -1) * len(ROWS)
                         + row_of.get(op.get("cls"), other) for op in chats), np.int64, len(chats))
    for code in np.unique(codes[codes >= 0]):
        worker, cls = names[code // len(ROWS)], ROWS[code % len(ROWS)]
        present = np.unique(which[codes == code])
        ranges = [(b * bin_s, max(n * bin_s, min_w)) for b, n in _runs(present)]
        ax.broken_barh(ranges, (_row_y(lanes[worker], cls) + 0.1, ROW_H * 0.8), facecolors=COLOURS[cls],
                       zorder=4 if cls == INVALID_MODEL else 3)


def _draw_readiness(ax, ev, lanes, t_lo, t_hi) -> None:
    """A strip under each lane: green while the last readiness answer was 200, red otherwise."""
    by_worker: dict[str, list[tuple[float, bool]]] = {}
    for op in ev.ops:
        if op.get("f") == "readiness":
            by_worker.setdefault(op["worker"], []).append((op["t"], op.get("status") == 200))
    for worker, points in by_worker.items():
        if worker not in lanes:
            continue
        points.sort()
        segments: list[tuple[float, float, bool]] = []
        for t, ready in points:
            if not segments or segments[-1][2] != ready:
                segments.append((t, t, ready))
            segments[-1] = (segments[-1][0], t, ready)
        for i, (start, _, ready) in enumerate(segments):
            end = segments[i + 1][0] if i + 1 < len(segments) else points[-1][0]
            ax.broken_barh([(start - t_lo, max(end - start, 0.05))], (lanes[worker] + 0.25, 0.5),
                           facecolors="#9ad19f" if ready else "#f4a3a3", zorder=2)


def _draw_faults(ax, ev, fault_lane_y, t_lo, t_hi) -> None:
    applied: dict[str, dict] = {}
    level = 0
    for e in ev.events:
        kind = e.get("kind")
        if kind == Event.FAULT_APPLIED and e.get("instant"):
            x = e["t"] - t_lo
            ax.axvline(x, color="#444444", ls="--", lw=1, zorder=5)
            ax.text(x, fault_lane_y + 0.3 + (level % 3) * 0.9, " " + e.get("fault", e.get("step", "")), fontsize=8, zorder=6)
            level += 1
        elif kind == Event.FAULT_APPLIED:
            applied[e.get("step")] = e
        elif kind == Event.FAULT_HEALED and e.get("step") in applied:
            _fault_window(ax, applied.pop(e["step"]), e["t"], fault_lane_y, t_lo, level)
            level += 1
    for start in applied.values():  # never healed (the run ended or crashed first)
        _fault_window(ax, start, t_hi, fault_lane_y, t_lo, level, unhealed=True)
        level += 1


def _fault_window(ax, start: dict, end_t: float, fault_lane_y, t_lo, level, unhealed=False) -> None:
    x0, x1 = start["t"] - t_lo, end_t - t_lo
    ax.axvspan(x0, x1, color="#f7c948", alpha=0.18, zorder=1)
    ax.broken_barh([(x0, x1 - x0)], (fault_lane_y + 0.2 + (level % 3) * 0.9, 0.7), facecolors="#f7c948", zorder=3)
    label = start.get("fault", start.get("step", "")) + (" (never healed)" if unhealed else "")
    ax.text(x0, fault_lane_y + 0.35 + (level % 3) * 0.9, " " + label, fontsize=8, zorder=6)


def _draw_pressure(ax, ev, y: float, t_lo: float) -> None:
    """The machine's CPU pressure (PSI "some", per cent) as a strip above the faults: the harness
    sheds its own load above HIGH_PRESSURE (dashed), and latency is not judged there."""
    import json

    from chaos.host.machine import HIGH_PRESSURE

    try:
        samples = json.loads((ev.path / layout.PRESSURE).read_text()).get("samples") or []
    except (OSError, ValueError):
        return
    if not samples:
        return
    xs = [t - t_lo for t, _ in samples]
    ys = [y + PRESSURE_H * min(pct, 100) / 100 for _, pct in samples]
    ax.fill_between(xs, y, ys, color="#9e9ac8", alpha=0.6, lw=0, zorder=2)
    ax.axhline(y + PRESSURE_H * HIGH_PRESSURE / 100, color="#54278f", lw=0.6, ls="--", zorder=2)


def _draw_worker_events(ax, ev, lanes, lane_h, t_lo) -> None:
    for e in ev.events:  # the harness was blind here: hatched, so an empty stretch is not read as quiet
        if e.get("kind") != Event.PROBE_STALL:
            continue
        for lane in e.get("lanes") or [e.get("worker")]:  # one event per stretch, on every lane it hit
            if lane in lanes:
                ax.broken_barh([(e["t"] - t_lo, e.get("seconds", 0))], (lanes[lane] + 1, lane_h - 1),
                               facecolors="none", edgecolors="#999999", hatch="///", lw=0, zorder=2)
    for kind, (marker, colour, _) in WORKER_MARKS.items():
        xs, ys = [], []
        for e in ev.events:
            if e.get("kind") == kind and e.get("worker") in lanes and e["t"] >= t_lo:
                xs.append(e["t"] - t_lo)
                ys.append(lanes[e["worker"]] + lane_h - 0.1)
        if xs:
            ax.scatter(xs, ys, marker=marker, color=colour, s=40, zorder=7, clip_on=False)


def _violation_lane(v: dict, lanes: dict) -> str | None:
    lane = FRONT_DOOR_LANE if v.get("via") == "front_door" else v.get("worker")
    return lane if lane in lanes else None


def _draw_violations(ax, ev, lanes, lane_h, t_lo) -> None:
    """A red bar along the top of a lane from the first to the last operation of every violation of
    a failed invariant: listing flickers and stale parameters show here, not in the chat rows."""
    for inv in ev.verdict.get("invariants", []):
        for v in inv.get("violations", []) if inv.get("status") == "fail" else []:
            lane = _violation_lane(v, lanes)
            first, last = v.get("first", {}), v.get("last", {})
            if lane is None or "t" not in first:
                continue
            x0 = first.get("t0", first["t"]) - t_lo
            ax.broken_barh([(x0, max(last.get("t", first["t"]) - t_lo - x0, 0.0) or 0.05)], (lanes[lane] + lane_h - 0.35, 0.25),
                           facecolors="#d7191c", zorder=8)


def _annotate_first_violation(ax, ev, lanes, t_lo) -> None:
    first = ev.verdict.get("first_violation")
    if not first:
        return
    name, v = first
    op = v.get("first", {})
    worker = _violation_lane(v, lanes)
    if worker is None or "t" not in op:
        return
    x, y = op["t"] - t_lo, _row_y(lanes[worker], op.get("cls", OTHER)) + 0.5
    ax.annotate(f"first violation: {name}\n{worker} {v.get('model')} ({op.get('cls')})", xy=(x, y),
                xytext=(20, 25), textcoords="offset points", fontsize=9, zorder=9,
                bbox={"boxstyle": "round", "fc": "white", "ec": "#d7191c"},
                arrowprops={"arrowstyle": "->", "color": "#d7191c", "lw": 1.5})


def _legend(ax, chats) -> None:
    counts: dict[str, int] = {}
    for op in chats:
        cls = op.get("cls", OTHER)
        cls = cls if cls in ROWS else OTHER
        counts[cls] = counts.get(cls, 0) + 1
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS[c]) for c in ROWS]
    labels = [f"{c} ({counts.get(c, 0)})" for c in ROWS]
    for marker, colour, label in WORKER_MARKS.values():
        handles.append(plt.Line2D([], [], marker=marker, color=colour, ls=""))
        labels.append(label)
    handles += [plt.Rectangle((0, 0), 1, 1, color="#f7c948", alpha=0.5), plt.Rectangle((0, 0), 1, 1, color="#9ad19f")]
    handles.append(plt.Rectangle((0, 0), 1, 1, fc="none", ec="#999999", hatch="///"))
    handles.append(plt.Rectangle((0, 0), 1, 1, color="#d7191c"))
    labels += ["fault window", "readiness 200 (red: not)", "not probed (harness fell behind or in-flight cap)",
               "violation (first to last op)"]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
