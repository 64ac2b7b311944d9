"""chaos bisect's wall time (issue 11): S1's `recovery` between 1.82.3 (bad: stuck) and 1.106.2
(good: recovers), with the tried versions' environments already built (a second bisect on a machine,
or one after `chaos env` built them).

    .venv/bin/python benchmarks/bisect_time.py [--replicas N] [--good 1.106.2] [--bad 1.82.3]

Prints the wall time, the runs, the environments built during the search and the answer; asserts
nothing. Run it alone on the machine."""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--good", default="1.106.2")
    parser.add_argument("--bad", default="1.82.3")
    parser.add_argument("--scenario", default="S1")
    parser.add_argument("--invariant", default="recovery")
    parser.add_argument("--replicas", type=int, default=None, help="default: the scenario's")
    parser.add_argument("--results", type=Path, default=ROOT / "chaos-results" / "bench-bisect")
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "chaos.cli", "bisect", args.scenario, "--good", args.good, "--bad", args.bad,
           "--invariant", args.invariant, "--results", str(args.results)]
    if args.replicas:
        cmd += ["--replicas", str(args.replicas)]
    t0 = time.monotonic()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    built = sum("building the LiteLLM" in line for line in out.stderr.splitlines())  # litellm_env logs each build so
    shape = f"{args.replicas} replica(s)" if args.replicas else "the scenario's replicas"
    print(f"bisect {args.scenario} {args.invariant} --good {args.good} --bad {args.bad} (local backend, {shape}, "
          f"{os.cpu_count()}-core machine): wall {wall / 60:.1f} min, {built} environment(s) built during the search, exit {out.returncode}")
    print(out.stdout.strip())
    if out.returncode not in (0, 1):
        print(out.stderr.strip()[-2000:])


if __name__ == "__main__":
    main()
