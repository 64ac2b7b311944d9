"""`chaos shrink DIR`: a smaller schedule that still fails the same way.

From a failing run's folder: its schedule and its failure signature (chaos.search.explore.signature).
Candidates, smallest change last tried first: drop a step (a fault with its heal, a workload
step), halve a delay / offset / fallback / settle, simplify a fault (halve a latency, a flap
period, a create count), one replica fewer when no step names the last one. Infrastructure is not
deterministic, so each candidate runs `tries` times and counts as failing when it fails with the
same signature at least as often as the original did (the original is run `tries` times first:
its share is reported). The first failing candidate is taken and the search starts again from it,
until no candidate fails. Output: the shrunk schedule.json, a before/after table and every run;
interrupted (Ctrl-C), it writes the smallest failing schedule found so far."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from chaos.errors import UsageError
from chaos.evidence import layout
from chaos.evidence.load import load_evidence
from chaos.oracle.verdict import FAILED
from chaos.scenarios.scenario import Scenario
from chaos.scenarios.schedule import Schedule
from chaos.search.explore import signature


def candidates(schedule: Schedule, replicas: int) -> Iterator[tuple[str, Schedule, int]]:
    """(what changed, the smaller schedule, its replicas), biggest cuts first."""
    steps = schedule.steps
    for step in steps:
        if step.heal is not None:
            continue
        dropped = [s for s in steps if s.id != step.id and s.heal != step.id]
        yield f"drop step {step.id}", replace(schedule, steps=dropped), replicas
    for i, step in enumerate(steps):
        for what, changed in _shorter(step):
            yield f"{what} of step {step.id}", replace(schedule, steps=steps[:i] + [changed] + steps[i + 1:]), replicas
    if replicas > 1 and f"worker-{replicas}" not in schedule.workers_named():
        yield f"{replicas - 1} replica(s)", replace(schedule, stack=schedule.stack | {"replicas": replicas - 1}), replicas - 1


# a delay or offset at or below this is left alone: halving it saves under a second of a run that
# lasts minutes, and every candidate costs a run (or `tries` runs)
MIN_HALVED_DELAY_S = 2.0


def _shorter(step) -> Iterator[tuple[str, object]]:
    for name in ("delay_s", "at"):
        value = getattr(step, name)
        if value and value > MIN_HALVED_DELAY_S:
            yield f"halve {name}", replace(step, **{name: round(value / 2, 1)})
    if step.fallback and step.fallback.after_s > 1:
        yield "halve the fallback", replace(step, fallback=replace(step.fallback, after_s=round(step.fallback.after_s / 2, 1)))
    if isinstance(step.settle, (int, float)) and step.settle > 1:
        yield "halve settle", replace(step, settle=round(step.settle / 2, 1))
    spec = step.apply or {}
    if spec.get("kind") == "toxic" and spec.get("attributes", {}).get("latency", 0) > 50:
        simpler = copy.deepcopy(spec)
        simpler["attributes"]["latency"] //= 2
        yield "halve the latency", replace(step, apply=simpler)
    if spec.get("kind") == "link_flap" and spec.get("period_s", 0) > 0.5:
        yield "halve the flap period", replace(step, apply=spec | {"period_s": spec["period_s"] / 2})
    count = (step.create_models or {}).get("count", 1)
    if count > 1:
        yield "halve the creates", replace(step, create_models=step.create_models | {"count": count // 2})


def shrink(folder: Path, tries: int, make_run, *, out: Path, log=print) -> dict:
    """make_run(scenario) -> a finished Run. Returns (and writes into `out`) the result."""
    if not isinstance(tries, int) or tries < 1:
        raise UsageError(f"--tries {tries!r} must be a whole number >= 1")
    ev = load_evidence(folder)
    if ev.status != "fail":
        raise UsageError(f"{folder}: not a failing run (its verdict is {ev.status.upper()}); shrink needs a failure to keep")
    if ev.schedule is None:
        raise UsageError(f"{folder}: no schedule.json to shrink")
    target = signature(ev.verdict, ev.events)
    original = Scenario.from_schedule(Schedule.from_json(ev.schedule, str(folder)), f"shrink of {folder}", {})
    out.mkdir(parents=True, exist_ok=True)
    runs: list[dict] = []

    def share(scenario: Scenario, label: str) -> float:
        hits = 0
        for k in range(tries):
            run = make_run(scenario)
            got = load_evidence(run.evidence)
            same = got.status == FAILED and signature(got.verdict, got.events) == target
            hits += same
            runs.append({"candidate": label, "try": k + 1, "status": got.status, "same_failure": same,
                         "evidence": str(run.evidence), "seconds": run.verdict.durations.get("total_s")})
            log(f"shrink: {label} try {k + 1}/{tries}: {got.status}{' (same failure)' if same else ''}")
        return hits / tries

    t0 = time.monotonic()
    needed = share(original, "original")
    if needed == 0:
        raise UsageError(f"{folder}: the failure did not come back in {tries} tries of the original; nothing to shrink against")
    current, replicas, label = original, original.stack.get("replicas", 2), "original"
    interrupted = False
    try:
        progress = True
        while progress:
            progress = False
            for what, smaller, n in candidates(current.schedule, replicas):
                candidate = replace(current, schedule=smaller, stack=current.stack | {"replicas": n})
                if share(candidate, what) >= needed:
                    log(f"shrink: kept: {what}")
                    current, replicas, label, progress = candidate, n, what, True
                    break
    except KeyboardInterrupt:  # a shrink can take an hour: what it found so far is kept, then the interrupt goes on
        interrupted = True
    shrunk = current.evidence_schedule(current.stack)
    shrunk.save(out / layout.SCHEDULE)
    before = [r["seconds"] or 0 for r in runs if r["candidate"] == "original"]
    after = [r["seconds"] or 0 for r in runs if r["candidate"] == label and r["same_failure"]] or before
    result = {"folder": str(folder), "signature": target, "original_share": needed, "tries": tries,
              "before": {"steps": len(original.schedule.steps), "replicas": original.stack.get("replicas", 2),
                         "run_s": round(sum(before) / len(before), 1)},
              "after": {"steps": len(current.schedule.steps), "replicas": replicas, "run_s": round(sum(after) / len(after), 1)},
              "wall_s": round(time.monotonic() - t0, 1), "runs": runs, "schedule": str(out / layout.SCHEDULE),
              "interrupted": interrupted}
    (out / layout.SHRINK).write_text(json.dumps(result, indent=2, default=str))
    if interrupted:
        log(f"shrink: interrupted after {len(runs)} run(s); the smallest failing schedule so far: {out / 'schedule.json'}\n"
            + table(result))
        raise KeyboardInterrupt
    return result


def table(result: dict) -> str:
    b, a = result["before"], result["after"]
    return ("|        | steps | replicas | run (s) |\n|---|---|---|---|\n"
            f"| before | {b['steps']} | {b['replicas']} | {b['run_s']} |\n| after  | {a['steps']} | {a['replicas']} | {a['run_s']} |\n")
