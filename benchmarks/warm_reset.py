"""A warm stack's reset between two runs (issue 10): with no worker touched (target <= 5 s), and
with one worker touched (it is restarted), on a 2-replica stack.

    .venv/bin/python benchmarks/warm_reset.py [--litellm 1.82.3] [--rounds 3]

Prints figures; asserts nothing. Run it alone on the machine (it times a stack)."""

import argparse
import os
import statistics
import time

from chaos.litellm.versions import DEFAULT_LITELLM_VERSION
from chaos.stack import StackConfig
from chaos.stack.pool import StackPool


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--litellm", default=DEFAULT_LITELLM_VERSION)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = StackConfig(replicas=2, litellm_version=args.litellm)
    with StackPool("local", log=lambda m: None) as pool:
        t0 = time.monotonic()
        pool.acquire(config)
        print(f"fresh stack: {time.monotonic() - t0:.1f} s (LiteLLM {args.litellm}, 2 replicas, local backend, {os.cpu_count()}-core machine)")
        for label, touched in (("no worker touched", set()), ("worker-1 touched", {"worker-1"})):
            times = []
            for _ in range(args.rounds):
                pool.release(touched=touched, healthy=True)
                _, info = pool.acquire(config)
                times.append(info["reset"]["seconds"])
            print(f"reset, {label}: median {statistics.median(times):.2f} s, all {times}")


if __name__ == "__main__":
    main()
