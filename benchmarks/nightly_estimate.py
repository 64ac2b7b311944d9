"""The nightly's wall time for N runners per LiteLLM version (N = 1, 4, 8), from the recorded
per-scenario run times (scenarios/run_times.json); with --record DIR..., first refresh those times
from evidence folders (each run's total plus the stack start or warm reset it needed; the pairs
seen there replace theirs, the others are kept).

    .venv/bin/python benchmarks/nightly_estimate.py
    .venv/bin/python benchmarks/nightly_estimate.py --record chaos-results /tmp/more-results

Prints figures; asserts nothing. The times are this machine's (2 cores, local backend): a GitHub
runner on compose differs, the proportions less so."""

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chaos import nightly  # noqa: E402
from chaos.scenarios import catalog  # noqa: E402
from chaos.litellm.versions import TESTED_LITELLM_VERSIONS  # noqa: E402


def run_seconds(verdict: dict) -> float | None:
    """A run's own time plus what its stack cost: a fresh start, or the warm reset."""
    total = (verdict.get("durations") or {}).get("total_s")
    stack = verdict.get("stack") or {}
    reuse = stack.get("reuse") or {}
    if not total:
        return None
    setup = ((reuse.get("reset") or {}).get("seconds") or 0.0) if reuse.get("reused") else (stack.get("timings") or {}).get("total_s", 0.0)
    return total + setup


def record(folders: list[Path]) -> dict:
    seen, kinds = defaultdict(list), set()
    for path in (p for folder in folders for p in folder.rglob("verdict.json")):
        try:
            v = json.loads(path.read_text())
        except ValueError:
            continue
        stack = v.get("stack") or {}
        if v.get("status") in ("aborted", "not_applicable") or stack.get("litellm_variant") or len(stack.get("models") or []) > 20:
            continue  # mutants, patched builds and many-model runs are not the nightly's
        seconds = run_seconds(v)
        if seconds and v.get("scenario") in catalog.SCENARIOS and stack.get("litellm_version"):
            seen[(stack["litellm_version"], v["scenario"])].append(seconds)
            kinds.add(f"{stack.get('backend', '?')} backend, {str(stack.get('worker_start', '?')).split(':')[0]} starts")
    times = defaultdict(dict)
    for (version, name), values in sorted(seen.items()):
        times[version][name] = round(statistics.median(values))
    return {"about": "seconds per scenario run, its stack start or warm reset included: the median of the runs "
                     "recorded (benchmarks/nightly_estimate.py --record)", "recorded_on": sorted(kinds), "seconds": times}


def recorded_on() -> list[str]:
    """The backends and kinds of start the recorded times come from."""
    return json.loads(nightly.RUN_TIMES.read_text()).get("recorded_on", [])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", nargs="+", type=Path, metavar="DIR", help="refresh scenarios/run_times.json from these evidence folders")
    args = parser.parse_args()
    if args.record:  # the pairs seen in these folders replace their recorded times; the others stay
        fresh = record(args.record)
        merged = nightly.load_times()
        for version, scenarios in fresh["seconds"].items():
            merged.setdefault(version, {}).update(scenarios)
        fresh["seconds"] = {v: dict(sorted(merged[v].items())) for v in sorted(merged)}
        fresh["recorded_on"] = sorted(set(fresh["recorded_on"]) | set(recorded_on()))
        nightly.RUN_TIMES.write_text(json.dumps(fresh, indent=2) + "\n")
    times = nightly.load_times()
    recorded = sum(len(t) for t in times.values())
    print(f"recorded times: {recorded} (scenario, version) pairs of {len(catalog.SCENARIOS) * len(TESTED_LITELLM_VERSIONS)}; "
          "the others take their scenario's median on other versions, else the median of all")
    print(f"recorded on: {'; '.join(recorded_on()) or 'not said'} (the nightly workflow runs the compose backend, every start cold: "
          "where the times are not from compose, its night is longer than this)")
    print("| runners per version | shards | longest shard (min) | night, a runner per shard (min) |\n|---|---|---|---|")
    for n in (1, 4, 8):
        shards = nightly.plan(list(TESTED_LITELLM_VERSIONS), list(catalog.SCENARIOS), n, times)
        print(f"| {n} | {len(shards)} | {max(s.seconds for s in shards) / 60:.0f} | {nightly.night_estimate_s(shards) / 60:.0f} |")


if __name__ == "__main__":
    main()
