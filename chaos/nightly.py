"""The nightly fan-out: each LiteLLM version's scenarios split into groups of about equal run time
(from recorded per-scenario times), one runner per (version, group); afterwards one summary page
of the night from every shard's JUnit file (which scenario x version failed, a link to each report).

`chaos nightly plan --runners N` prints the GitHub Actions matrix; `chaos nightly summary DIR`
writes the page. A user with more runners changes one number (N)."""

from __future__ import annotations

import html
import json
import statistics
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from chaos.errors import UsageError
from chaos.host.paths import SOURCE_ROOT

RUN_TIMES = SOURCE_ROOT / "scenarios" / "run_times.json"
# what a shard costs before its first scenario (GitHub runner: checkout, bootstrap, first stack)
SHARD_OVERHEAD_S = 240.0


@dataclass(frozen=True)
class Shard:
    litellm: str
    group: int
    scenarios: tuple[str, ...]
    seconds: float  # their recorded run time

    def to_matrix(self) -> dict:
        return {"litellm": self.litellm, "group": self.group, "scenarios": " ".join(self.scenarios),
                "pytest_args": " ".join(f"--chaos-scenario {s}" for s in self.scenarios), "estimate_s": round(self.seconds)}


def load_times(path: Path = RUN_TIMES) -> dict[str, dict[str, float]]:
    """{version: {scenario: seconds}}, as recorded (benchmarks/nightly_estimate.py refreshes it)."""
    try:
        return json.loads(Path(path).read_text())["seconds"]
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"--times {path}: not a run-times file ({exc}); expected {{\"seconds\": {{version: {{scenario: s}}}}}}") from None


def time_of(scenario: str, version: str, times: dict[str, dict[str, float]]) -> float:
    """The recorded time; else the scenario's median over the other versions; else the median of all."""
    if scenario in times.get(version, {}):
        return float(times[version][scenario])
    others = [t[scenario] for t in times.values() if scenario in t]
    everything = [s for t in times.values() for s in t.values()] or [120.0]
    return float(statistics.median(others or everything))


def plan(versions: list[str], scenarios: list[str], runners: int, times: dict[str, dict[str, float]]) -> list[Shard]:
    """Per version, the scenarios in `runners` groups of about equal time (longest first, each to
    the lightest group)."""
    if not isinstance(runners, int) or runners < 1:
        raise UsageError(f"--runners {runners!r}: expected a whole number >= 1")
    shards = []
    for version in versions:
        groups: list[list[str]] = [[] for _ in range(min(runners, len(scenarios)))]
        load = [0.0] * len(groups)
        for name in sorted(scenarios, key=lambda s: -time_of(s, version, times)):
            i = load.index(min(load))
            groups[i].append(name)
            load[i] += time_of(name, version, times)
        shards += [Shard(version, i + 1, tuple(sorted(g, key=scenarios.index)), load[i]) for i, g in enumerate(groups)]
    return shards


def parse_groups(spec: str, known: list[str]) -> list[list[str]]:
    """"S1,S2|S3,S4,...": groups given by hand; every scenario exactly once."""
    groups = [[s.strip().upper() for s in g.split(",") if s.strip()] for g in spec.split("|")]
    if not spec.strip() or any(not g for g in groups):
        raise UsageError(f"--groups {spec!r}: a group names no scenario; expected e.g. 'S1,S2|S3,S4' covering {', '.join(known)}")
    named = [s for g in groups for s in g]
    unknown = sorted(set(named) - set(known))
    if unknown:
        raise UsageError(f"--groups: no scenario {', '.join(unknown)}; expected some of {', '.join(known)}")
    twice = sorted({s for s in named if named.count(s) > 1})
    if twice:
        raise UsageError(f"--groups: {', '.join(twice)} in more than one group; name each scenario once")
    left_out = [s for s in known if s not in named]
    if left_out:
        raise UsageError(f"--groups leaves out {', '.join(left_out)}; every scenario must run in some group")
    return groups


def shards_from_groups(versions: list[str], groups: list[list[str]], times: dict[str, dict[str, float]]) -> list[Shard]:
    return [Shard(v, i + 1, tuple(g), sum(time_of(s, v, times) for s in g)) for v in versions for i, g in enumerate(groups)]


def night_estimate_s(shards: list[Shard], runners_at_once: int | None = None) -> float:
    """Wall time of the night: with a runner per shard, the longest shard (plus its overhead)."""
    per_shard = sorted((s.seconds + SHARD_OVERHEAD_S for s in shards), reverse=True)
    if runners_at_once is None or runners_at_once >= len(per_shard):
        return per_shard[0] if per_shard else 0.0
    lanes = [0.0] * runners_at_once
    for t in per_shard:
        lanes[lanes.index(min(lanes))] += t
    return max(lanes)


# ---------------------------------------------------------------- the night's summary page
@dataclass
class Outcome:
    scenario: str
    version: str
    status: str  # passed, failed, xfailed (a known failure), skipped, error
    report: str | None  # relative to the folder of every shard's artifacts
    message: str = ""


def outcomes(root: Path) -> list[Outcome]:
    """The verdict test (test_verdict[SCENARIO-VERSION]) of every shard's JUnit file under root."""
    root = Path(root)
    files = sorted(root.rglob("junit*.xml"))
    if not files:
        raise UsageError(f"{root}: no JUnit file (junit*.xml) under it; expected the shards' downloaded artifacts")
    found = []
    for path in files:
        for case in ET.parse(path).getroot().iter("testcase"):
            name = case.get("name", "")
            if not name.startswith("test_verdict[") or "-" not in name:
                continue
            scenario, version = name[len("test_verdict["):-1].split("-", 1)
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            status, message = _junit_status(case)
            found.append(Outcome(scenario, version, status, _report_in_artifact(props.get("report"), path, root), message))
    return found


def _junit_status(case) -> tuple[str, str]:
    for tag, status in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        el = case.find(tag)
        if el is not None:
            if status == "skipped" and (el.get("type") or "").endswith("xfail"):
                status = "xfailed"
            return status, (el.get("message") or "").splitlines()[0][:200] if el.get("message") else ""
    return "passed", ""


def _report_in_artifact(report: str | None, junit: Path, root: Path) -> str | None:
    """The report beside the JUnit file that names it (the runner's chaos-results/ prefix cut off),
    relative to root, where the summary page is written."""
    if not report or "chaos-results/" not in report:
        return None
    return str((junit.parent / report.split("chaos-results/", 1)[1]).relative_to(root))


def _table(items: list[Outcome]) -> tuple[list[str], list[str], dict]:
    versions = sorted({o.version for o in items})
    scenarios = sorted({o.scenario for o in items}, key=lambda s: (len(s), s))
    return versions, scenarios, {(o.scenario, o.version): o for o in items}


def unexpected(items: list[Outcome]) -> list[Outcome]:
    return [o for o in items if o.status in ("failed", "error")]


def summary_markdown(items: list[Outcome]) -> str:
    versions, scenarios, cell = _table(items)
    lines = [f"# Nightly chaos: {len(unexpected(items))} unexpected result(s) in {len(items)} scenario x version run(s)", "",
             "| scenario | " + " | ".join(versions) + " |", "|---|" + "---|" * len(versions)]
    for s in scenarios:
        row = [("-" if o is None else f"[{o.status}]({o.report})" if o.report else o.status)
               for o in (cell.get((s, v)) for v in versions)]
        lines.append(f"| {s} | " + " | ".join(row) + " |")
    lines += [f"- {o.scenario} on {o.version}: {o.status}: {o.message}" for o in unexpected(items)]
    return "\n".join(lines) + "\n"


def summary_html(items: list[Outcome]) -> str:
    versions, scenarios, cell = _table(items)
    e = html.escape
    rows = []
    for s in scenarios:
        cells = []
        for v in versions:
            o = cell.get((s, v))
            text = "-" if o is None else e(o.status)
            cells.append(f'<td class="{text}">' + (f'<a href="{e(o.report)}">{text}</a>' if o and o.report else text) + "</td>")
        rows.append(f"<tr><th>{e(s)}</th>{''.join(cells)}</tr>")
    bad = "".join(f"<li>{e(o.scenario)} on {e(o.version)}: {e(o.status)}: {e(o.message)}</li>" for o in unexpected(items))
    return ("<!doctype html><meta charset=utf-8><title>nightly chaos</title><style>.failed,.error{background:#fbb}"
            ".passed{background:#bfb}.xfailed{background:#eee}</style>"
            f"<h1>{len(unexpected(items))} unexpected result(s) in {len(items)} scenario x version run(s)</h1>"
            f"<table border=1><tr><th>scenario</th>{''.join(f'<th>{e(v)}</th>' for v in versions)}</tr>{''.join(rows)}</table>"
            + (f"<h2>Unexpected</h2><ul>{bad}</ul>" if bad else ""))
