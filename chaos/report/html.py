"""report.html: one self-contained page per run (styles and the timeline inlined, nothing fetched
from the network). Verdict first, then the invariants, the timeline, the first violation with the
offending worker's log around it, the counts, the schedule and the event log."""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path

from chaos.evidence import layout
from chaos.evidence.load import Evidence, load_evidence
from chaos.report.logwindow import log_window
from chaos.report.summary import (
    class_totals,
    first_violation,
    first_violation_label,
    headline,
    replay_command,
    run_lines,
    seen_lines,
)
from chaos.report.timeline import render_timeline
from chaos.run.events import Event

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1700px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
.status { display: inline-block; padding: 2px 10px; border-radius: 4px; color: white; font-weight: bold; }
.pass { background: #2e9d4a; } .fail { background: #d7191c; } .aborted, .unknown { background: #7b7b7b; }
.inconclusive { background: #e08a00; }
.not_checked { background: #aaaaaa; }
table { border-collapse: collapse; margin: 6px 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; padding: 8px; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; }
.hit { background: #ffd6d6; display: block; } .problems { background: #fff4d6; border: 1px solid #f0c36d; padding: 8px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; } img { max-width: 100%; border: 1px solid #ddd; }
"""


def render_report(path: Path) -> Evidence:
    """Render timeline.png and report.html into an evidence folder; returns what was read."""
    ev = load_evidence(path)
    png = render_timeline(ev)
    (ev.path / layout.TIMELINE).write_bytes(png)
    (ev.path / layout.REPORT).write_text(report_html(ev, png))
    return ev


def render_compare(path_a: Path, path_b: Path, out: Path | None = None) -> Path:
    """Two runs side by side (e.g. one scenario on two LiteLLM versions)."""
    a, b = load_evidence(path_a), load_evidence(path_b)
    out = out or a.path / f"compare-{b.scenario}-{b.path.name}.html"
    out.write_text(compare_html(a, b, render_timeline(a), render_timeline(b)))
    return out


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def _status(status: str) -> str:
    return f'<span class="status {escape(status)}">{escape(status.upper())}</span>'


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _facts(ev: Evidence) -> str:
    what = ev.what_ran
    env = what.get("litellm_env") or {}
    rows = [("LiteLLM", f"{what.get('litellm_version')} (proxy-extras {env.get('proxy_extras_version', '?')}, "
                        f"prisma {env.get('prisma_client_version', '?')})"),
            ("backend", what.get("backend")), ("Prisma query engine", what.get("prisma_query_engine")),
            ("seed", ev.verdict.get("seed")), ("durations", json.dumps(ev.verdict.get("durations", {}))),
            *((label, text) for label, text in (("how it ran", "; ".join(run_lines(ev))),) if text),
            ("traffic", json.dumps(ev.verdict.get("traffic", {}))), ("machine", json.dumps(ev.verdict.get("machine", {}))),
            ("evidence", str(ev.path))]
    return "<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows) + "</table>"


def _problems(ev: Evidence) -> str:
    if not ev.problems:
        return ""
    items = "".join(f"<li>{escape(p)}</li>" for p in ev.problems)
    return f'<div class="problems"><b>This evidence folder is incomplete; rendered what could be read:</b><ul>{items}</ul></div>'


def _invariants(ev: Evidence) -> str:
    rows = []
    for inv in ev.verdict.get("invariants", []):
        violations = inv.get("violations", [])
        first = min(violations, key=lambda v: v["first"].get("t", 0), default=None)
        where = "" if first is None else f"{first['worker']} {first.get('model') or ''}: {first['first'].get('cls')}"
        note = inv.get("note", "") + (f" checker error: {inv['error']}" if inv.get("error") else "")
        cov = inv.get("coverage")
        seen = "" if not cov else f"{1 - cov['blind_share']:.1%} (longest blind {cov['longest_blind_s']} s)"
        rows.append(f"<tr><td>{escape(inv['name'])}</td><td>{escape(inv.get('role', 'contract'))}</td><td>{_status(inv['status'])}</td>"
                    f"<td class=num>{sum(v['count'] for v in violations)}</td><td>{escape(where)}</td><td>{escape(seen)}</td>"
                    f"<td>{escape(inv.get('description', ''))}{'<br><i>' + escape(note) + '</i>' if note else ''}</td></tr>")
    if not rows:
        return "<p>No invariants were judged (the run aborted before the checkers ran).</p>"
    return ("<p>Contract invariants decide the verdict; advisory ones are reported only.</p>"
            "<table><tr><th>invariant</th><th>role</th><th>result</th><th>violating ops</th><th>first violation</th>"
            "<th>window observed</th><th>what it says</th></tr>"
            + "".join(rows) + "</table>")


def _first_violation(ev: Evidence) -> str:
    fv = first_violation(ev)
    if fv is None:
        return "<p>No invariant was violated.</p>"
    via = " through the front door" if fv.via else ""
    label = first_violation_label(ev, fv)
    text = (f"<p>{escape(label[0].upper() + label[1:])}: <b>{escape(fv.invariant)}</b>: {escape(fv.worker)}{via} answered <b>{escape(fv.cls)}</b>"
            f"{f' (HTTP {fv.status})' if fv.status else ''} for model <b>{escape(str(fv.model))}</b>, "
            f"{escape(fv.after_fault or 'before any fault')}; faults active then: {escape(', '.join(fv.faults_active) or 'none')}; "
            f"{fv.count} violating op(s) on that pair.</p>")
    window = log_window(ev.log_path(fv.worker), ev.wall_of(fv.t), f"model={fv.model}" if fv.model else None)
    if window is None:
        return text + f"<p>No log of {escape(fv.worker)} in this folder.</p>"
    lines = "".join(f'<span class="{"hit" if hit else ""}">{n:6d}  {escape(line)}</span>\n' for n, line, hit in window.numbered())
    what = "the first line naming the model at that time" if window.hit is not None else "the log at that time"
    return text + f"<p>{escape(fv.worker)}'s log ({escape(window.path.name)}), {what}:</p><pre>{lines}</pre>"


def _counts(ev: Evidence) -> str:
    counts = ev.verdict.get("counts", {})
    classes = list(class_totals(ev))
    if not counts:
        return "<p>No chat probes recorded.</p>"
    head = "<tr><th>worker</th><th>model</th>" + "".join(f"<th>{escape(c)}</th>" for c in classes) + "</tr>"
    rows = "".join(
        f"<tr><td>{escape(w)}</td><td>{escape(m)}</td>" + "".join(f"<td class=num>{per.get(c, 0)}</td>" for c in classes) + "</tr>"
        for w, models in counts.items() for m, per in models.items())
    return f"<table>{head}{rows}</table>"


def collapse_stalls(events: list[dict]) -> list[dict]:
    """Consecutive probe stalls (and load-shedding steps) as one row each: the events a person
    reads are the faults and the workers' lives, not hundreds of blind spots."""
    out: list[dict] = []
    for e in events:
        prev = out[-1] if out else None
        if prev and e["kind"] in (Event.PROBE_STALL, Event.LOAD_SHED) and prev["kind"] == e["kind"]:
            prev["n"] = prev.get("n", 1) + 1
            prev["until_s"] = round(e["t"] + e.get("seconds", 0) - prev["t"], 2)
            continue
        out.append(dict(e))
    return out


def _events(ev: Evidence) -> str:
    if not ev.events:
        return "<p>No events recorded.</p>"
    t0 = ev.events[0]["t"]
    def row(e: dict) -> str:
        kind = e["kind"] + (f" x{e['n']}" if e.get("n") else "")
        fields = {k: v for k, v in e.items() if k not in ("t", "wall", "kind", "n")}
        return f"<tr><td class=num>{e['t'] - t0:.2f}</td><td>{escape(kind)}</td><td>{escape(json.dumps(fields))}</td></tr>"

    rows = "".join(row(e) for e in collapse_stalls(ev.events))
    return f"<details><summary>{len(ev.events)} events</summary><table><tr><th>s</th><th>event</th><th>fields</th></tr>{rows}</table></details>"


def _seen(ev: Evidence) -> str:
    """Coverage and the machine's pressure, next to the verdict: what the verdict rests on."""
    return "".join(f"<p>{escape(line)}</p>" for line in seen_lines(ev))


def report_html(ev: Evidence, png: bytes) -> str:
    body = f"""
<h1>{escape(ev.scenario)} {_status(ev.status)}</h1>
<p>{escape(headline(ev))}</p>
{f'<p><b>reason:</b> {escape(ev.verdict["reason"])}</p>' if ev.verdict.get("reason") else ""}
{_seen(ev)}
{_problems(ev)}
<h2>Invariants</h2>{_invariants(ev)}
<h2>First violation</h2>{_first_violation(ev)}
<h2>Timeline</h2>{_img(png, f"timeline of {ev.scenario}")}
<h2>Counts per worker and model</h2>{_counts(ev)}
<h2>What ran</h2>{_facts(ev)}
<h2>Schedule</h2><p>Replay: <code>{escape(replay_command(ev))}</code></p>
<pre>{escape(json.dumps(ev.schedule, indent=2) if ev.schedule else "schedule.json missing")}</pre>
<h2>Events</h2>{_events(ev)}
"""
    return _page(f"{ev.scenario} {ev.status}", body)


def compare_html(a: Evidence, b: Evidence, png_a: bytes, png_b: bytes) -> str:
    names = [i["name"] for i in a.verdict.get("invariants", [])]
    names += [i["name"] for i in b.verdict.get("invariants", []) if i["name"] not in names]

    def cell(ev: Evidence, name: str) -> str:
        inv = next((i for i in ev.verdict.get("invariants", []) if i["name"] == name), None)
        if inv is None:
            return "<td>-</td>"
        n = sum(v["count"] for v in inv.get("violations", []))
        return f"<td>{_status(inv['status'])} {f'({n} ops)' if n else ''}</td>"

    rows = "".join(f"<tr><td>{escape(n)}</td>{cell(a, n)}{cell(b, n)}</tr>" for n in names)
    totals = "".join(f"<tr><td>{escape(c)}</td><td class=num>{class_totals(a).get(c, 0)}</td><td class=num>{class_totals(b).get(c, 0)}</td></tr>"
                     for c in dict.fromkeys(list(class_totals(a)) + list(class_totals(b))))
    body = f"""
<h1>{escape(a.scenario)} vs {escape(b.scenario)}</h1>
<div class="grid">
<div><h2>A {_status(a.status)}</h2><p>{escape(headline(a))}</p><p>{escape(str(a.path))}</p>{_problems(a)}</div>
<div><h2>B {_status(b.status)}</h2><p>{escape(headline(b))}</p><p>{escape(str(b.path))}</p>{_problems(b)}</div>
</div>
<h2>Invariants</h2><table><tr><th>invariant</th><th>A</th><th>B</th></tr>{rows}</table>
<h2>Chat probes by outcome</h2><table><tr><th>class</th><th>A</th><th>B</th></tr>{totals}</table>
<h2>Timelines</h2>
<div class="grid"><div>{_img(png_a, "timeline A")}</div><div>{_img(png_b, "timeline B")}</div></div>
"""
    return _page(f"{a.scenario} vs {b.scenario}", body)
