"""chaos explore's throughput (issue 11): generated schedules judged per hour on a warm stack, and
the distinct failure groups found, for one LiteLLM version.

    .venv/bin/python benchmarks/explore_throughput.py [--litellm 1.82.3] [--budget-min 60] [--seed 0]

Prints figures (schedules judged, per hour, groups with their smallest seed); asserts nothing.
Run it alone on the machine."""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--litellm", default="1.82.3")
    parser.add_argument("--budget-min", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=ROOT / "chaos-results" / "bench-explore")
    args = parser.parse_args()
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "chaos.cli", "explore", "--seed", str(args.seed), "--budget",
                          f"{args.budget_min}m", "--litellm", args.litellm, "--results", str(args.results)],
                         cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    lines = out.stdout.strip().splitlines()
    runs = sum(1 for line in out.stderr.splitlines() if line.startswith("explore: seed"))
    print(f"explore on LiteLLM {args.litellm} (local backend, 2 replicas, {os.cpu_count()}-core machine): {runs} schedules judged in "
          f"{wall / 60:.1f} min = {runs / wall * 3600:.0f} per hour")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
