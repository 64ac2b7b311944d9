"""Where a LiteLLM worker's start spends its time, per version: the interpreter, importing the
proxy, then the proxy's startup up to listening (app construction, Prisma engine spawn, DB
connect, settings read, first model load: uvicorn listens only after its startup event), then
the first readiness 200. Each restart measured on an idle fleet and under the default traffic
(the load budget's rate at every worker), with the DB healthy; both kinds of start: cold (a new
interpreter, `--cold-start`: the import phases are measured on it) and forked from the template
(the local backend's default: no import).

    .venv/bin/python benchmarks/worker_start_phases.py [--litellm V ...] [--restarts N]

Target (issue 18): a restart to first answer under the fleet's traffic <= 2x the same restart
idle. Prints the figures; asserts nothing. One stack at a time."""

import argparse
import statistics
import subprocess
import time

from chaos import LocalStack, StackConfig
from chaos.host.machine import budget
from chaos.litellm.env import ensure_env
from chaos.litellm.versions import TESTED_LITELLM_VERSIONS
from chaos.run.events import Event
from chaos.run.history import History
from chaos.traffic import TrafficConfig, TrafficEngine


def timed_python(python: str, code: str, rounds: int = 3) -> float:
    took = []
    for _ in range(rounds):
        t = time.perf_counter()
        subprocess.run([python, "-c", code], check=True, capture_output=True)
        took.append(time.perf_counter() - t)
    return statistics.median(took)


def restart_phases(stack: LocalStack, name: str) -> dict:
    """spawn -> live (listening) -> ready (readiness 200) of one crash restart, from the event log."""
    t0 = time.monotonic()
    stack.restart_worker(name, mode="crash")
    stack.wait_ready(name, timeout=180)
    spawn = stack.events.first(Event.WORKER_SPAWNED, after=t0, worker=name)
    live = stack.events.first(Event.WORKER_LIVE, after=t0, worker=name)
    ready = stack.events.first(Event.WORKER_READY, after=t0, worker=name)
    return {"to_live_s": live["t"] - spawn["t"], "to_ready_s": ready["t"] - spawn["t"]}


def one_version(version: str, restarts: int) -> None:
    env = ensure_env(version)
    python = str(env.bin_dir / "python")
    interpreter = timed_python(python, "pass")
    imports = timed_python(python, "import litellm.proxy.proxy_server") - interpreter
    for fast_start in (False, True):
        one_kind_of_start(version, restarts, fast_start, interpreter, imports)


def one_kind_of_start(version: str, restarts: int, fast_start: bool, interpreter: float, imports: float) -> None:
    kind = "forked" if fast_start else "cold"
    stack = LocalStack(StackConfig(replicas=2, litellm_version=version, fast_start=fast_start), log=lambda m: None)
    with stack:
        idle = [restart_phases(stack, "worker-1") for _ in range(restarts)]
        rate = budget(2, len(stack.config.models), version).rate_per_worker
        history = History()
        engine = TrafficEngine({w.name: w.url for w in stack.workers()}, list(stack.config.models), stack.master_key,
                               history, TrafficConfig(rate_per_worker=rate, front_door_rate=0)).start()
        try:
            time.sleep(5)
            loaded = [restart_phases(stack, "worker-1") for _ in range(restarts)]
        finally:
            engine.stop()
    for label, runs in (("idle", idle), (f"under traffic ({rate}/s per worker)", loaded)):
        live = statistics.median(r["to_live_s"] for r in runs)
        ready = statistics.median(r["to_ready_s"] for r in runs)
        phases = (f" (interpreter {interpreter:.1f} s, import {imports:.1f} s, startup {live - interpreter - imports:.1f} s)"
                  if not fast_start else "")
        print(f"LiteLLM {version} {kind} restart, {label}: to listening {live:.1f} s{phases}, to readiness 200 "
              f"{ready:.1f} s (median of {len(runs)})")
    ratio = statistics.median(r["to_ready_s"] for r in loaded) / statistics.median(r["to_ready_s"] for r in idle)
    print(f"LiteLLM {version} {kind}: loaded / idle restart to ready = {ratio:.2f}x (target <= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--litellm", nargs="+", default=list(TESTED_LITELLM_VERSIONS))
    parser.add_argument("--restarts", type=int, default=3)
    args = parser.parse_args()
    print("machine: this project's 2-core machine is the reference; local backend, one stack at a time")
    for version in args.litellm:
        one_version(version, args.restarts)


if __name__ == "__main__":
    main()
