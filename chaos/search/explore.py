"""`chaos explore`: generated schedules on a warm stack, judged by every contract, failures
grouped by signature, so a person reads "3 distinct failures in 11 runs", not 11 folders.

A failure's signature: the contract invariants it failed, the kind of its first violation
(invariant and outcome class), the fault active then, and the lifecycle state of the worker that
answered (starting, live, ready, down). Every run is replayable (`chaos replay` of its
schedule.json: the seed and the stack are in it). The summary page (self-contained HTML) lists the
groups with their smallest schedule, one example's timeline and its replay command."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from chaos.evidence import layout
from chaos.evidence.load import load_evidence
from chaos.oracle.invariants import EXPLORE_ADVISORY, EXPLORE_CONTRACT
from chaos.oracle.verdict import FAILED
from chaos.report.summary import replay_command
from chaos.run.events import Event
from chaos.scenarios.catalog import INCIDENT_STACK
from chaos.scenarios.scenario import Scenario
from chaos.search.generate import Options, Shape, generate

_LIFECYCLE = {Event.WORKER_SPAWNED: "starting", Event.WORKER_LIVE: "live", Event.WORKER_READY: "ready",
              Event.WORKER_STOPPED: "down", Event.WORKER_KILLED: "down", Event.WORKER_EXITED: "down",
              Event.WORKER_PAUSED: "paused", Event.WORKER_RESUMED: "ready"}
# violations that exist only at a worker whose readiness said 200 (the harness's own readiness probe,
# which sees it before the supervisor's slower poll records worker_ready): their state is "ready"
_AT_READY_WORKERS = {"no_invalid_model_ready_gated", "readiness_truthful"}


def scenario_for(seed: int, shape: Shape, options: Options | None = None) -> Scenario:
    schedule = generate(seed, shape, options)
    return Scenario(schedule.name, f"generated schedule, seed {seed}", schedule,
                    stack=INCIDENT_STACK | {"replicas": shape.replicas}, contract=EXPLORE_CONTRACT, advisory=EXPLORE_ADVISORY)


def signature(verdict: dict, events: list[dict]) -> tuple:
    """(failed contract invariants, first violation kind, fault active then, that worker's state)."""
    failed = tuple(sorted(verdict.get("failed_invariants") or []))
    first = verdict.get("first_violation")
    if not first:
        return failed, None, None, None
    name, v = first
    t = v.get("first", {}).get("t", 0)
    faults = tuple(sorted({f.split("(")[0] for f in v.get("faults_active") or []})) or ("none",)
    state = "ready" if name in _AT_READY_WORKERS else _state_at(events, v.get("worker"), t)
    return failed, f"{name}: {v.get('first', {}).get('cls')}", faults, state


def _state_at(events: list[dict], worker: str | None, t: float) -> str:
    """The worker's lifecycle state at t, from the supervisor's events."""
    state = "unknown"
    for e in sorted(events, key=lambda e: e["t"]):
        if e["t"] > t:
            break
        if e.get("worker") == worker and e["kind"] in _LIFECYCLE:
            state = _LIFECYCLE[e["kind"]]
    return state


def describe(sig: tuple) -> str:
    failed, kind, faults, state = sig
    return f"{kind} while {', '.join(faults or ('?',))} active, worker {state} (failed: {', '.join(failed)})"


@dataclass
class Group:
    signature: tuple
    runs: list[dict] = field(default_factory=list)  # {"seed", "evidence", "steps", "seconds"}

    @property
    def smallest(self) -> dict:
        return min(self.runs, key=lambda r: (r["steps"], r["seconds"]))


def group_runs(results: list[dict]) -> list[Group]:
    groups: dict[tuple, Group] = {}
    for r in results:
        if r["status"] == FAILED:
            groups.setdefault(tuple(tuple(x) if isinstance(x, list) else x for x in r["signature"]), Group(r["signature"])).runs.append(r)
    return sorted(groups.values(), key=lambda g: -len(g.runs))


def summary_html(groups: list[Group], results: list[dict], meta: dict) -> str:
    parts = [f"<h1>chaos explore: {len(groups)} distinct failure(s) in {len(results)} run(s)</h1>",
             f"<p>{escape(json.dumps(meta))}</p>"]
    for n, g in enumerate(groups, 1):
        ex = g.smallest
        png = Path(ex["evidence"]) / layout.TIMELINE
        img = (f'<img style="max-width:100%" src="data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}">'
               if png.exists() else "<p>(no timeline)</p>")
        parts.append(f"<h2>{n}. {escape(describe(g.signature))}: {len(g.runs)} run(s)</h2>"
                     f"<p>seeds: {', '.join(str(r['seed']) for r in g.runs)}; smallest: seed {ex['seed']} "
                     f"({ex['steps']} steps), evidence {escape(ex['evidence'])}</p>"
                     f"<p>replay: <code>{escape(ex['replay'])}</code></p>"
                     f"<pre>{escape(json.dumps(json.loads((Path(ex['evidence']) / 'schedule.json').read_text()), indent=2))}</pre>{img}")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>chaos explore</title>"
            "<style>body{font:14px system-ui;margin:24px} pre{background:#f7f7f7;padding:8px}</style></head><body>"
            + "".join(parts) + "</body></html>")


def explore(first_seed: int, shape: Shape, make_run, *, runs: int | None, budget_s: float | None, out: Path, log=print,
            options: Options | None = None) -> tuple[list[Group], list[dict]]:
    """Run generated schedules seed after seed (make_run(scenario) -> a finished Run) until `runs`
    are done or `budget_s` has passed; write groups.json and summary.html into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    t0, results, seed = time.monotonic(), [], first_seed
    while (runs is None or len(results) < runs) and (budget_s is None or time.monotonic() - t0 < budget_s):
        scenario = scenario_for(seed, shape, options)
        run = make_run(scenario)
        ev = load_evidence(run.evidence)
        sig = signature(ev.verdict, ev.events)
        results.append({"seed": seed, "status": run.verdict.status, "signature": list(sig), "evidence": str(run.evidence),
                        "steps": len(scenario.schedule.steps), "seconds": run.verdict.durations.get("total_s"),
                        "replay": replay_command(ev)})
        log(f"explore: seed {seed}: {run.verdict.status}" + (f": {describe(sig)}" if run.verdict.status == FAILED else ""))
        seed += 1
    groups = group_runs(results)
    meta = {"first_seed": first_seed, "replicas": shape.replicas, "runs": len(results),
            "wall_s": round(time.monotonic() - t0, 1)}
    (out / "groups.json").write_text(json.dumps({"meta": meta, "runs": results,
                                                 "groups": [{"signature": g.signature, "seeds": [r["seed"] for r in g.runs],
                                                             "smallest": g.smallest} for g in groups]}, indent=2))
    (out / layout.SUMMARY).write_text(summary_html(groups, results, meta))
    return groups, results
