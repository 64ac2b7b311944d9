"""What a person reads first, in the console and at the top of the report: the verdict, the
first violation put in context (which fault preceded it, how long before), the counts, and how
to replay the run."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from chaos.evidence import layout
from chaos.evidence.load import Evidence


@dataclass
class FirstViolation:
    invariant: str
    worker: str
    model: str | None
    cls: str
    status: int | None
    t: float  # monotonic
    count: int
    after_fault: str | None  # "12.3 s after step 'restart' (worker_restart(worker=worker-1))"
    faults_active: list[str]
    via: str | None = None  # "front_door": a client of the front door got it (worker: who answered)


def first_violation(ev: Evidence) -> FirstViolation | None:
    first = ev.verdict.get("first_violation")
    if not first:
        return None
    return _violation(ev, *first)


def headline_violation(ev: Evidence) -> FirstViolation | None:
    """What a bug report leads with: the first 'Invalid model name' a contract invariant counted
    (the harm under test), else the first violation."""
    invalid = [(v["first"]["t"], inv["name"], v) for inv in ev.verdict.get("invariants", [])
               if inv.get("role", "contract") == "contract" and inv.get("status") == "fail"
               for v in inv.get("violations", []) if (v.get("first") or {}).get("cls") == "invalid_model"]
    if not invalid:
        return first_violation(ev)
    _, name, v = min(invalid, key=lambda x: x[0])
    return _violation(ev, name, v)


def _violation(ev: Evidence, name: str, v: dict) -> FirstViolation:
    op = v.get("first", {})
    t = op.get("t", 0.0)
    fault = ev.faults_before(t)
    after = None if fault is None else f"{t - fault['t']:.1f} s after step {fault.get('step')!r} ({fault.get('fault')})"
    return FirstViolation(name, v.get("worker", "?"), v.get("model"), op.get("cls", "?"), op.get("status"), t,
                          v.get("count", 0), after, v.get("faults_active") or [], v.get("via"))


def class_totals(ev: Evidence) -> dict[str, int]:
    """Outcome class -> chat probes, over every worker and model (verdict counts)."""
    totals: dict[str, int] = {}
    for models in ev.verdict.get("counts", {}).values():
        for classes in models.values():
            for cls, n in classes.items():
                totals[cls] = totals.get(cls, 0) + n
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def worker_totals(ev: Evidence, cls: str) -> dict[str, int]:
    return {w: sum(c.get(cls, 0) for c in models.values()) for w, models in ev.verdict.get("counts", {}).items()}


def replay_command(ev: Evidence) -> str:
    """schedule.json records the stack (LiteLLM version or virtualenv, replicas, models) and the rate."""
    return shlex.join(["chaos", "replay", str(ev.path / layout.SCHEDULE)])


def headline(ev: Evidence) -> str:
    what = ev.what_ran
    variant = f" [{what['litellm_variant']}]" if what.get("litellm_variant") else ""
    return (f"{ev.scenario}: {ev.status.upper().replace('_', ' ')}  (LiteLLM {what.get('litellm_version')}{variant}, {what.get('backend')} backend, "
            f"Prisma engine: {what.get('prisma_query_engine')}{start_words(what.get('worker_start'))})")


def start_words(worker_start: str | None) -> str:
    """How the workers started, as the headline says it (older evidence did not record it)."""
    kind = str(worker_start or "").split(":")[0]
    return {"fork": ", workers forked from a template", "cold": ", cold worker starts"}.get(kind, "")


STATUS_WORDS = {"pass": "held", "fail": "FAILED", "not_checked": "not checked", "unknown": "UNKNOWN"}


def first_violation_label(ev: Evidence, fv: FirstViolation) -> str:
    """'first violation', said to be advisory where it does not decide the verdict."""
    role = next((i.get("role", "contract") for i in ev.verdict.get("invariants", []) if i["name"] == fv.invariant), "contract")
    return "first violation" if role == "contract" else "first violation (advisory: it does not decide the verdict)"


def coverage_line(ev: Evidence) -> str | None:
    """How much of each contract invariant's window the run saw: the worst one, and which went unknown."""
    covered = [i for i in ev.verdict.get("invariants", []) if i.get("coverage") and i.get("role", "contract") == "contract"]
    if not covered:
        return None
    worst = max(covered, key=lambda i: i["coverage"]["blind_share"])
    c = worst["coverage"]
    unknown = [i["name"] for i in covered if i["status"] == "unknown"]
    window = ev.verdict.get("traffic", {}).get("smallest_window_caught_s")
    return (f"coverage: contract invariants blind for at most {c['blind_share']:.1%} of their window ({worst['name']}: "
            f"{c['blind_s']} s of {c['judged_s']} s, longest {c['longest_blind_s']} s"
            f"{' on ' + c['longest_blind_lane'] if c.get('longest_blind_lane') else ''})"
            + (f"; smallest window caught on every pair {window} s" if window else "")
            + (f"; UNKNOWN for lack of sight: {', '.join(unknown)}" if unknown else ""))


def reach_lines(ev: Evidence) -> list[str]:
    """Per DB fault held until the workers tried the DB: which did, and when (Toxiproxy's log)."""
    lines = []
    for r in ev.verdict.get("fault_reach") or []:
        if not r.get("observable"):
            lines.append(f"fault reach: {r['fault']}: not observable on this backend (no Toxiproxy log)")
            continue
        parts = [f"{w} tried the DB {t} s into it" if t is not None else f"{w} NEVER tried the DB during it (its reload path "
                 f"was not exercised by this fault)" for w, t in sorted(r["tried_after_s"].items())]
        lines.append(f"fault reach: {r['fault']}: " + "; ".join(parts))
    return lines


def seen_lines(ev: Evidence) -> list[str]:
    """What the verdict rests on: coverage, the machine's pressure, the DB faults' reach."""
    return [line for line in (coverage_line(ev), machine_line(ev)) if line] + reach_lines(ev)


def machine_line(ev: Evidence) -> str | None:
    m = ev.verdict.get("machine") or {}
    p, rates = m.get("pressure") or {}, m.get("rates") or {}
    if not m.get("cores"):
        return None
    pressure = (f"CPU pressure ({p.get('source')}) avg {p.get('avg_pct')} %, max {p.get('max_pct')} %, above "
                f"{p.get('high_limit_pct')} % for {p.get('high_s')} s" if p.get("samples") else "CPU pressure not measured")
    shed = (f"; harness load shed {rates['load_shed_changes']} time(s), chats down to {rates.get('lowest_chat_scale'):.0%}"
            if rates.get("load_shed_changes") else "")
    rate = (f"; chats/s per worker planned {rates.get('planned_chats_per_worker')} ({ev.verdict.get('traffic', {}).get('rate_source', '?')}), "
            f"achieved {rates.get('achieved_direct_chats_per_worker')} direct" if rates else "")
    limit = m.get("cpu_limit_per_worker") or ""
    throttled = m.get("cpu_throttled_s") or {}
    limit_text = "" if limit.startswith("none") or not limit else f"; CPU limit {limit}" + (
        f", throttled {', '.join(f'{w} {s} s' for w, s in throttled.items())}" if throttled else "")
    return f"machine: {m['cores']} cores; {pressure}{rate}{shed}{limit_text}"


def invariant_lines(ev: Evidence) -> list[str]:
    """Every invariant with its role: contract ones decide the verdict, advisory ones are reported."""
    lines = []
    for role in ("contract", "advisory"):
        parts = []
        for inv in ev.verdict.get("invariants", []):
            if inv.get("role", "contract") != role:
                continue
            n = sum(v.get("count", 0) for v in inv.get("violations", []))
            word = STATUS_WORDS.get(inv.get("status"), inv.get("status"))
            parts.append(f"{inv['name']} {word}" + (f" ({n} ops)" if n else "") + (f" [{inv['error']}]" if inv.get("error") else ""))
        if parts:
            lines.append(f"{role + ':':10s}" + "; ".join(parts))
    return lines


def stack_line(ev: Evidence) -> str | None:
    """How the run got its stack: fresh (and why), or reused after a reset (and what it did)."""
    reuse = ev.what_ran.get("reuse") or {}
    if not reuse:
        return None
    if reuse.get("reused"):
        reset = reuse.get("reset", {})
        return (f"stack: reused (run {reuse.get('run_on_stack')} on it); reset in {reset.get('seconds')} s: "
                f"{'; '.join(reset.get('did', []))}")
    startup = reuse.get("startup", {})
    return f"stack: fresh ({reuse.get('why')}), up in {startup.get('total_s', '?')} s"


def run_lines(ev: Evidence) -> list[str]:
    d = ev.verdict.get("durations", {})
    lines = [line for line in (stack_line(ev),) if line]
    pairs = ev.verdict.get("traffic", {}).get("per_pair_interval_s") or {}
    if pairs.get("achieved_median") is not None:
        lines.append(f"probing: each (worker, model) pair every {pairs['achieved_median']} s (worst pair {pairs['achieved_worst_pair']} s; "
                     f"planned {pairs.get('planned')} s at {ev.verdict['traffic'].get('direct_chat_rate_per_worker')} chats/s per worker)")
    if d.get("ended_by"):
        lines.append(f"ended: {d['ended_by']} ({d.get('recovery_window_s')} s after heal; full window {d.get('full_window_s')} s)")
    return lines


def verdict_block(ev: Evidence) -> str:
    lines = ["=" * 78, headline(ev)]
    if ev.verdict.get("reason"):
        lines.append(f"reason: {ev.verdict['reason']}")
    lines += invariant_lines(ev)
    lines += seen_lines(ev)
    fv = first_violation(ev)
    if fv:
        via = " through the front door" if fv.via else ""
        lines.append(f"{first_violation_label(ev, fv)}: {fv.invariant}: {fv.worker}{via} answered {fv.cls}"
                     f"{f' (HTTP {fv.status})' if fv.status else ''} for {fv.model}, "
                     f"{fv.after_fault or 'before any fault'}; {fv.count} such op(s) on that pair")
    recovery = next((i for i in ev.verdict.get("invariants", []) if i["name"] == "recovery" and i["status"] == "fail"), None)
    if recovery and recovery.get("note"):
        lines.append(f"recovery: {recovery['note']}")
    totals = class_totals(ev)
    if totals:
        lines.append(f"chat probes: {sum(totals.values())}: " + ", ".join(f"{c} {n}" for c, n in totals.items()))
        invalid = {w: n for w, n in worker_totals(ev, "invalid_model").items() if n}
        if invalid:
            lines.append("invalid_model per worker: " + ", ".join(f"{w} {n}" for w, n in invalid.items()))
    lines += run_lines(ev)
    stall_s = ev.verdict.get("durations", {}).get("probe_stall_s")
    if stall_s:
        lines.append(f"harness blind spots: probes skipped for {stall_s} s of wall time (the probe loop fell behind or a worker "
                     f"had max_in_flight_per_worker requests open; hatched on the timeline); a violation there would be missed")
    for problem in ev.problems if ev.status != "not_applicable" else ():  # nothing ran: no logs to miss
        lines.append(f"evidence problem: {problem}")
    report = ev.path / layout.REPORT
    if report.exists():
        lines.append(f"report:   {report}")
    lines.append(f"evidence: {ev.path}")
    lines.append(f"schedule: {ev.path / 'schedule.json'}")
    lines.append(f"replay:   {replay_command(ev)}")
    lines.append("=" * 78)
    return "\n".join(lines)
