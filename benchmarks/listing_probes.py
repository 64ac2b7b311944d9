"""The listing probes (issue 9): what they cost and how short a listing flicker they catch.

    .venv/bin/python benchmarks/listing_probes.py [--litellm 1.106.2] [--seconds 30] [--trials 20]

1. Cost: a real stack (LiteLLM, 2 workers, 40 chat/s each, the default traffic otherwise), the
   harness process's CPU over --seconds with the listing probes off, then on (the default
   10 /v1/models + 2 /model/info polls per second per worker); the workers' CPU too.
2. Sensitivity: the smallest listing flicker listing_consistent catches 19/20: fake upstreams stand
   in for 2 gateways, one of which drops a model from its listings for W ms (W = 50, 100, 300) at
   a random phase; a trial is caught when the checker fires on a poll inside the flicker.
Prints figures only; run it alone on the machine (it times a stack)."""

import argparse
import os
import random
import time

import httpx
from probe_engine import MODELS, start_upstreams

from chaos.oracle.context import CheckContext
from chaos.oracle.listing import check_listing_consistent
from chaos.run.history import History
from chaos.traffic import TrafficConfig, TrafficEngine


def _group_cpu(pids: list[int]) -> float:
    """CPU seconds of every process in the process groups of `pids` (a worker and its Prisma engine)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pids:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def cost(version: str, seconds: float) -> None:
    from chaos import LocalStack, StackConfig
    from chaos.stack.config import FrontDoorConfig

    with LocalStack(StackConfig(replicas=2, litellm_version=version, front_door=FrontDoorConfig(enabled=False))) as stack:
        urls = {w.name: w.url for w in stack.workers()}
        pids = [w.pid for w in stack.workers()]
        for label, listing, info in (("listings off", 0.0, 0.0), ("listings on (defaults)", 10.0, 2.0)):
            config = TrafficConfig(rate_per_worker=40, listing_rate_per_worker=listing, model_info_rate_per_worker=info,
                                   front_door_rate=0)
            history = History()
            engine = TrafficEngine(urls, list(stack.config.models), stack.master_key, history, config)
            cpu0, workers0, t0 = time.process_time(), _group_cpu(pids), time.monotonic()
            with engine:
                time.sleep(seconds)
            wall = time.monotonic() - t0
            harness, workers = (time.process_time() - cpu0) / wall, (_group_cpu(pids) - workers0) / wall
            polls = sum(op.f in ("models", "model_info_list") for op in history.ops)
            chats = sum(op.f == "chat" for op in history.ops)
            print(f"cost, {label}: harness {harness:.2f} cores, LiteLLM workers {workers:.2f} cores; "
                  f"{chats / wall:.0f} chats/s, {polls / wall:.0f} listing polls/s over {wall:.0f} s "
                  f"(LiteLLM {version}, 2 workers, local backend, {os.cpu_count()}-core machine)")


def sensitivity(trials: int, listing_rate: float, windows=(50, 100, 300)) -> None:
    procs, urls = start_upstreams(2)
    try:
        for url in urls.values():
            httpx.post(f"{url}/_chaos/behaviour", json={"list_models": MODELS})
        history = History()
        config = TrafficConfig(rate_per_worker=40, listing_rate_per_worker=listing_rate, model_info_rate_per_worker=0,
                               front_door_rate=0)
        with TrafficEngine(urls, MODELS, "sk-bench", history, config):
            time.sleep(1)
            for window in windows:
                caught = 0
                for _ in range(trials):
                    time.sleep(random.uniform(0.05, 0.25))  # a random phase of the poll period
                    t_set = time.monotonic()
                    httpx.post(f"{urls['worker-2']}/_chaos/behaviour",
                               json={"list_models": MODELS, "hide_models": [MODELS[1]], "hide_for_ms": window})
                    time.sleep(window / 1000 + 0.3)
                    t_end = time.monotonic()
                    ops = [op for op in history.ops if t_set - 1 <= op.t0 <= t_end]
                    ctx = CheckContext(workers=list(urls), models=MODELS, events=[], heal_t=None, end_t=t_end,
                                       recovery_bound_s=0, propagation_bound_s=0)
                    caught += check_listing_consistent(ops, ctx).status == "fail"
                print(f"sensitivity at {listing_rate:.0f} /v1/models polls/s per worker: W={window:4d} ms caught {caught}/{trials}")
    finally:
        for p in procs:
            p.terminate()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--litellm", default="1.106.2")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--skip-cost", action="store_true")
    args = parser.parse_args()
    if not args.skip_cost:
        cost(args.litellm, args.seconds)
    for rate in (10, 20):
        sensitivity(args.trials, rate)


if __name__ == "__main__":
    main()
