"""140 models on 3 replicas (issue 12), on this machine:

    .venv/bin/python benchmarks/many_models.py [--litellm 1.108.7] [--models 140] [--seconds 30] [--trials 20]

1. a real stack (LiteLLM, 3 replicas, the models generated over openai/anthropic/gemini/azure,
   seeded through the DB): time to ready and the seeding; then the default traffic for --seconds:
   the harness's CPU, and the probe interval per (worker, model) pair achieved;
2. the catch rate of a 500 ms "Invalid model name" window on one (worker, model) pair over
   --trials trials, at the default rate and at the highest this machine sustains (fake upstreams
   stand in for the 3 gateways here, as in probe_engine.py: only the harness is measured).
Prints figures; asserts nothing. Run it alone on the machine."""

import argparse
import os
import random
import time

from probe_engine import start_upstreams, window_caught

from chaos.litellm.models import generated
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION
from chaos.options import plan_traffic
from chaos.run.history import History
from chaos.run.runner import pair_intervals
from chaos.traffic import TrafficConfig, TrafficEngine


def real_stack(version: str, n: int, seconds: float) -> None:
    from chaos import LocalStack, StackConfig

    specs = generated(n)
    t0 = time.monotonic()
    with LocalStack(StackConfig(replicas=3, litellm_version=version, models=tuple(s.name for s in specs), model_specs=specs),
                    log=lambda m: None) as stack:
        up = time.monotonic() - t0
        t = stack.timings
        print(f"{n} models x 3 replicas (LiteLLM {version}, local backend, {os.cpu_count()}-core machine): ready in {up:.1f} s "
              f"(infra {t['infra_s']} s, workers {t['workers_s']} s, every worker serving every model checked in {t['seed_s']} s; "
              f"the rows were written before the workers started)")
        history = History()
        engine = TrafficEngine({w.name: w.url for w in stack.workers()}, list(stack.config.models), stack.master_key, history,
                               plan_traffic(None, None, None, n, 3, version), front_door_url=stack.front_door.url)
        cpu0, w0 = time.process_time(), time.monotonic()
        with engine:
            time.sleep(seconds)
        wall = time.monotonic() - w0
        pairs = pair_intervals(history.ops, w0, time.monotonic())
        ok = sum(op.cls == "ok" for op in history.ops if op.f == "chat") / max(1, sum(op.f == "chat" for op in history.ops))
        print(f"  default traffic for {wall:.0f} s: harness CPU {(time.process_time() - cpu0) / wall:.2f} cores; "
              f"{engine.direct_rate:.1f} direct chats/s per worker -> each pair every {pairs.get('achieved_median')} s "
              f"(planned {n / engine.direct_rate:.1f} s, worst pair {pairs.get('achieved_worst_pair')} s); {ok:.1%} of chats ok")


def catch_rate(n: int, trials: int, rate: float, window_ms: float = 500) -> None:
    models = [s.name for s in generated(n)]
    procs, urls = start_upstreams(3)
    try:
        history = History()
        with TrafficEngine(urls, models, "sk-bench", history, TrafficConfig(rate_per_worker=rate, front_door_rate=0,
                                                                             listing_rate_per_worker=0, model_info_rate_per_worker=0)):
            time.sleep(1)
            caught = 0
            for _ in range(trials):
                caught += window_caught(urls["worker-2"], "worker-2", random.choice(models), window_ms, history)
                time.sleep(random.uniform(0.05, 0.5))
        print(f"  a {window_ms:.0f} ms window on one of {n} models, {rate:.0f} chats/s per worker (each pair every "
              f"{n / rate:.2f} s): caught {caught}/{trials}")
    finally:
        for p in procs:
            p.terminate()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--litellm", default=DEFAULT_LITELLM_VERSION)
    parser.add_argument("--models", type=int, default=140)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    real_stack(args.litellm, args.models, args.seconds)
    for rate in (40.0, plan_traffic(None, None, None, args.models, 3, args.litellm).rate_per_worker):  # the old default, the budget
        catch_rate(args.models, args.trials, rate)


if __name__ == "__main__":
    main()
