"""Probe engine throughput and CPU, and oracle sensitivity, against the fake upstream standing in
for gateways (one upstream process per "worker"), so only the harness is measured.

    .venv/bin/python benchmarks/probe_engine.py [--seconds 10] [--trials 20]

Targets (issue 3): >= 1000 requests/s with the harness using < 1 core; a 100 ms window of
"Invalid model name" on one (worker, model) pair caught in >= 19/20 trials. Prints figures only."""

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx

from chaos.host.ports import pick_free_ports
from chaos.oracle.classify import INVALID_MODEL
from chaos.run.history import History
from chaos.traffic import TrafficConfig, TrafficEngine

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["gpt-4o-mini", "google/gemini-2.5-flash", "claude-3-5-haiku"]


def start_upstreams(n: int):
    ports = pick_free_ports([f"u{i}" for i in range(n)], exclude=set())
    procs = [subprocess.Popen([sys.executable, "-m", "chaos.upstream", "--port", str(p)], cwd=ROOT, stdin=subprocess.DEVNULL)
             for p in ports.values()]
    urls = {f"worker-{i + 1}": f"http://127.0.0.1:{p}" for i, p in enumerate(ports.values())}
    for url in urls.values():
        for _ in range(200):
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
    return procs, urls


def throughput(seconds: float, workers: int, rate: float) -> None:
    procs, urls = start_upstreams(workers)
    try:
        history = History()
        engine = TrafficEngine(urls, MODELS, "sk-bench", history, TrafficConfig(rate_per_worker=rate))
        cpu0, t0 = time.process_time(), time.monotonic()
        engine.start()
        time.sleep(seconds)
        engine.stop()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
        chats = [op for op in history.ops if op.f == "chat"]
        ok = sum(op.cls == "ok" for op in chats)
        print(f"throughput: {len(chats) / wall:.0f} chat requests/s ({ok} ok of {len(chats)}) over {wall:.1f} s, "
              f"{workers} workers x {rate:.0f}/s asked; harness CPU {cpu / wall:.2f} cores "
              f"(target >= 1000/s with < 1 core)")
    finally:
        for p in procs:
            p.terminate()


def window_caught(url: str, worker: str, model: str, window_ms: float, history: History) -> bool:
    """One trial: the upstream at `url` answers 400 'Invalid model name' for `model` during window_ms;
    did a probe of `worker` see it?"""
    t0 = time.monotonic()
    httpx.post(f"{url}/_chaos/behaviour", json={
        "fail_status": 400, "fail_models": [model], "fail_for_ms": window_ms,
        "fail_message": f"/chat/completions: Invalid model name passed in model={model}"})
    time.sleep(window_ms / 1000 + 0.3)
    return any(op.t0 >= t0 and op.f == "chat" and op.worker == worker and op.model == model and op.cls == INVALID_MODEL
               for op in history.ops)


def sensitivity(trials: int, rate: float, windows=(50, 100, 200, 500)) -> None:
    procs, urls = start_upstreams(3)
    try:
        history = History()
        with TrafficEngine(urls, MODELS, "sk-bench", history, TrafficConfig(rate_per_worker=rate)):
            time.sleep(1)
            target_url, model = urls["worker-2"], MODELS[1]
            for window in windows:
                caught = 0
                for _ in range(trials):
                    caught += window_caught(target_url, "worker-2", model, window, history)
                    time.sleep(random.uniform(0.05, 0.25))  # trials fall at random phases of the probe period
                print(f"sensitivity at {rate:.0f} req/s per worker ({len(MODELS)} models): "
                      f"W={window:4d} ms caught {caught}/{trials}")
    finally:
        for p in procs:
            p.terminate()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    for workers, rate in ((5, 100), (5, 250)):
        throughput(args.seconds, workers, rate)
    for rate in (20, 40):
        sensitivity(args.trials, rate)


if __name__ == "__main__":
    main()
