"""How much chat traffic this machine carries before the run measures its own overload: a real
stack (2 LiteLLM workers, front door on, every probe at its default rate but the chat rate),
for each chat rate per worker: the whole machine's CPU (from /proc/stat), the harness's own CPU,
chats answered per second, chat latency p50/p99/max, and the probe loop's blind spots (seconds in
which it fell behind), and the all-in CPU per chat (LiteLLM's share alone is machine.DEFAULT_LITELLM_MS, or the version's calibration).

    .venv/bin/python benchmarks/machine_headroom.py [--litellm 1.108.7] [--seconds 30] [--rates 20,30,40]

Prints figures; asserts nothing. Run it alone on the machine (it times a stack)."""

import argparse
import os
import time

from chaos import LocalStack, StackConfig
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION
from chaos.oracle.classify import OK
from chaos.run.history import History
from chaos.traffic import TrafficConfig, TrafficEngine


def busy_and_total() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def one_rate(stack, rate: float, seconds: float) -> None:
    urls = {w.name: w.url for w in stack.workers()}
    history = History()
    engine = TrafficEngine(urls, list(stack.config.models), stack.master_key, history, TrafficConfig(rate_per_worker=rate),
                           front_door_url=stack.front_door.url if stack.front_door else None)
    with engine:
        time.sleep(3)  # settle
        busy0, total0 = busy_and_total()
        cpu0, t0, first = time.process_time(), time.monotonic(), len(history.ops)
        time.sleep(seconds)
        busy1, total1 = busy_and_total()
        harness, wall = time.process_time() - cpu0, time.monotonic() - t0
        ops = history.ops[first:]
        stalls = sum(until - since for _, since, until in engine.stalls if since >= t0)
    chats = [op for op in ops if op.f == "chat" and op.cls == OK]
    lat = sorted(op.t - op.t0 for op in chats)
    cores = os.cpu_count() or 1
    machine = (busy1 - busy0) / (total1 - total0) * cores  # cores busy on average
    per_chat_ms = machine / (len(chats) / wall) * 1000 if chats else float("nan")
    pick = (lambda q: lat[int(q * (len(lat) - 1))] * 1000) if lat else (lambda q: float("nan"))
    print(f"rate {rate:4.0f}/worker: machine {machine:.2f} of {cores} cores busy, harness {harness / wall:.2f} cores; "
          f"{len(chats) / wall:5.1f} ok chats/s; latency p50 {pick(0.5):.0f} ms, p99 {pick(0.99):.0f} ms, "
          f"max {pick(1.0):.0f} ms; probe loop behind {stalls:.1f} s (summed over targets); "
          f"all-in CPU per chat {per_chat_ms:.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--litellm", default=DEFAULT_LITELLM_VERSION)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rates", default="20,30,40", help="chats/s per worker, each >= 20 (the front door takes 20/s of the fleet's budget, at most half)")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    with LocalStack(StackConfig(replicas=2, litellm_version=args.litellm), log=lambda m: None) as stack:
        print(f"LiteLLM {args.litellm}, 2 workers, local backend, {os.cpu_count()}-core machine, {args.seconds:.0f} s per rate")
        for rate in rates:
            one_rate(stack, rate, args.seconds)
            time.sleep(5)  # let queues drain


if __name__ == "__main__":
    main()
