"""Time to verdict of `chaos reproduce 26237`, stack start included, split by phase: the default
(seeded through the DB, ended once the contract is decided) beside the full mode (--full-window;
a single run always starts its own stack, so --fresh-stack changes nothing here).

    .venv/bin/python benchmarks/reproduce_time.py [--litellm 1.82.3]

Target (issue 10): <= 60 s on LiteLLM 1.82.3. Prints figures; asserts nothing. Run it alone."""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from chaos.litellm.versions import INCIDENT_LITELLM_VERSION

ROOT = Path(__file__).resolve().parents[1]


def one(version: str, extra: list[str], results: Path) -> None:
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "chaos.cli", "reproduce", "26237", "--litellm", version,
                          "--results", str(results), *extra], cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    folder = results / "S1" / "latest"
    verdict = json.loads((folder / "verdict.json").read_text())
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    at = {e["kind"]: e["t"] for e in reversed(events)}  # first occurrence of each kind
    timings = verdict["stack"]["timings"]
    mode = " ".join(extra) or "default"
    print(f"{mode}: {wall:.1f} s to verdict {verdict['status'].upper()} (exit {out.returncode}) on LiteLLM {version} "
          f"(local backend, 2 replicas, {os.cpu_count()}-core machine)")
    print(f"  stack {timings.get('total_s')} s (infra {timings.get('infra_s')}, workers {timings.get('workers_s')}, "
          f"seed check {timings.get('seed_s')}); baseline -> heal {at['heal_all'] - at['baseline_met']:.1f} s "
          f"(restart -> heal {at['heal_all'] - at.get('worker_restarted', at['heal_all']):.1f} s); "
          f"after heal {verdict['durations'].get('recovery_window_s')} s: {verdict['durations'].get('ended_by')}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--litellm", default=INCIDENT_LITELLM_VERSION)
    parser.add_argument("--results", type=Path, default=ROOT / "chaos-results" / "bench-reproduce")
    args = parser.parse_args()
    for extra in ([], ["--full-window"]):
        one(args.litellm, extra, args.results)


if __name__ == "__main__":
    main()
