"""Wall time and mutation score of `chaos selftest` (issue 9), on this machine.

    .venv/bin/python benchmarks/selftest_time.py [--litellm 1.106.2] [--quick]

Runs the selftest (every mutant on the scenario that must catch it, the fixed build on the
scenarios it must pass) and prints the wall time per run and in all, and the mutation score.
Prints figures; asserts nothing. Run it alone on the machine (it times stacks)."""

import argparse
import os
import sys
import time
from pathlib import Path

from chaos.litellm.env import ensure_env
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION
from chaos.mutants import selftest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--litellm", default=DEFAULT_LITELLM_VERSION)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--results", type=Path, default=Path("chaos-results"))
    args = parser.parse_args()
    t0 = time.monotonic()
    rows, out_dir = selftest.run_selftest(ensure_env(args.litellm), selftest.select(None, args.quick), args.results,
                                          rate=None, log=lambda m: print(m, file=sys.stderr))
    wall = time.monotonic() - t0
    for r in rows:
        print(f"  {r.mutant:24s} {r.scenario:4s} expected {r.expected:7s} observed {r.observed:7s} {r.seconds:6.1f} s")
    caught, total = selftest.score(rows)
    print(f"selftest on LiteLLM {args.litellm} ({'quick' if args.quick else 'full'}, local backend, {os.cpu_count()}-core machine): "
          f"{wall:.0f} s wall for {len(rows)} runs; mutation score {caught}/{total}; {out_dir / 'selftest.md'}")


if __name__ == "__main__":
    main()
