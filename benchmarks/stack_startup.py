"""Time from `up` to all replicas ready, split into infrastructure and LiteLLM replicas.

    .venv/bin/python benchmarks/stack_startup.py [--litellm VERSION] [--rounds N] [--cold-start]

Targets (issue 2): infra (PostgreSQL + HAProxy + Toxiproxy + upstream + schema) <= 3 s;
3 replicas in parallel no more than 1.5x the time of one. Prints the figures; asserts nothing."""

import argparse
import statistics
import time

from chaos import LocalStack, StackConfig
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION


def one_run(version: str, replicas: int, fast_start: bool) -> dict:
    stack = LocalStack(StackConfig(replicas=replicas, litellm_version=version, seed_models=False, fast_start=fast_start),
                       log=lambda m: None)
    try:
        stack.start()
    except BaseException:
        stack.close(failed=True)
        raise
    t = time.monotonic()
    stack.close()
    return dict(stack.timings) | {"down_s": round(time.monotonic() - t, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--litellm", default=DEFAULT_LITELLM_VERSION)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold-start", action="store_true", help="a new interpreter per worker (default: forked)")
    args = parser.parse_args()
    print(f"workers {'cold' if args.cold_start else 'forked from a template'}; local backend, this machine")
    results = {}
    for replicas in (1, 3):
        runs = [one_run(args.litellm, replicas, not args.cold_start) for _ in range(args.rounds)]
        results[replicas] = runs
        for key in ("infra_s", "workers_s", "total_s", "down_s"):
            values = [r[key] for r in runs]
            print(f"LiteLLM {args.litellm} replicas={replicas} {key:10s} median {statistics.median(values):6.2f}  all {values}")
    ratio = statistics.median(r["workers_s"] for r in results[3]) / statistics.median(r["workers_s"] for r in results[1])
    print(f"3 replicas / 1 replica (workers phase, medians): {ratio:.2f}x  (target <= 1.5x)")
    print(f"infra median {statistics.median(r['infra_s'] for r in results[1] + results[3]):.2f} s  (target <= 3 s)")


if __name__ == "__main__":
    main()
