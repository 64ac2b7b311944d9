"""Time to verdict of `chaos reproduce 26237`, stack start included, split by phase.

    .venv/bin/python benchmarks/reproduce_time.py [--litellm 1.82.3]

Target (issue 3): <= 60 s on LiteLLM 1.82.3. Prints figures; asserts nothing."""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from chaos.versions import INCIDENT_LITELLM_VERSION

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--litellm", default=INCIDENT_LITELLM_VERSION)
    args = parser.parse_args()
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "chaos.cli", "reproduce", "26237", "--litellm", args.litellm],
                         cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    print(out.stdout.strip().splitlines()[0] if out.stdout.strip() else out.stderr.strip()[-300:])
    verdict = json.loads((ROOT / "chaos-results" / "S1" / "latest" / "verdict.json").read_text())
    timings = verdict["stack"]["timings"]
    events = [json.loads(line) for line in (ROOT / "chaos-results" / "S1" / "latest" / "events.jsonl").read_text().splitlines()]
    t_ready = next(e["t"] for e in events if e["kind"] == "models_verified")
    t_heal = next(e["t"] for e in events if e["kind"] == "heal_all")
    t_fault = next(e["t"] for e in events if e["kind"] == "fault_applied")
    print(f"time to verdict: {wall:.1f} s (target <= 60 s) on LiteLLM {args.litellm}")
    print(f"  stack: infra {timings.get('infra_s')} s, workers {timings.get('workers_s')} s, seed {timings.get('seed_s')} s")
    print(f"  baseline + faults until heal: {t_heal - t_ready:.1f} s (first fault {t_fault - t_ready:.1f} s after seeding)")
    print(f"  recovery window: {verdict['durations'].get('recovery_window_s')} s (bound {verdict['durations'].get('bound_s')} s)")


if __name__ == "__main__":
    main()
