"""Verdict stability under the load budget: each scenario N times on one LiteLLM, warm stack, at
the default (budgeted) rate; per scenario the verdicts, the blind time (wall seconds with any pair
unprobed, as a share of the run; the worst contract invariant's blind share) and CPU pressure.
For a version whose expectations say "pass", any fail is a false positive (goal 0), and an
inconclusive run is counted apart.

    .venv/bin/python benchmarks/verdict_stability.py --litellm 1.108.7 --runs 5 S1 S5 S10 S11 S12
    .venv/bin/python benchmarks/verdict_stability.py --litellm 1.106.2 --runs 5 --expected-pass
    .venv/bin/python benchmarks/verdict_stability.py --litellm 1.108.7 --runs 2 --cpu-limit 1 S1 S5

Prints figures; asserts nothing. Run it alone (one stack at a time)."""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chaos.scenarios import catalog  # noqa: E402
from scenarios.expectations import expected_verdict  # noqa: E402


def figures(folder: Path) -> dict:
    v = json.loads((folder / "verdict.json").read_text())
    total = v.get("durations", {}).get("total_s") or 0
    stall = v.get("durations", {}).get("probe_stall_s") or 0
    shares = [i["coverage"]["blind_share"] for i in v.get("invariants", []) if i.get("coverage") and i.get("role") == "contract"]
    p = (v.get("machine") or {}).get("pressure") or {}
    return {"status": v["status"], "failed": v.get("failed_invariants"), "total_s": total, "stall_s": stall,
            "worst_blind_share": max(shares, default=0.0), "pressure_avg": p.get("avg_pct"), "pressure_max": p.get("max_pct"),
            "rate": (v.get("traffic") or {}).get("direct_chat_rate_per_worker"),
            "throttled_s": sum(((v.get("machine") or {}).get("cpu_throttled_s") or {}).values())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="*")
    parser.add_argument("--litellm", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--expected-pass", action="store_true", help="every scenario whose expectations say pass on this version")
    parser.add_argument("--cpu-limit", type=float, help="CPUs per worker (chaos run --cpu-limit)")
    parser.add_argument("--results", type=Path, default=ROOT / "chaos-results" / "bench-stability")
    args = parser.parse_args()
    names = args.scenario or [n for n in catalog.SCENARIOS if not args.expected_pass or expected_verdict(n, args.litellm) == "pass"]
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "chaos.cli", "run", *names, "--repeat", str(args.runs), "--litellm", args.litellm,
                    "--results", str(args.results), *(["--cpu-limit", str(args.cpu_limit)] if args.cpu_limit else [])], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    limit = f"CPU limit {args.cpu_limit:g} per worker" if args.cpu_limit else "no CPU limit"
    print(f"LiteLLM {args.litellm}, local backend, warm stack, {os.cpu_count()} cores, {limit}, default rate, {args.runs} run(s) each; "
          f"{time.monotonic() - t0:.0f} s wall")
    print("| scenario | expected | verdicts | unexpected fails | inconclusive | probe stall (share of run) | worst contract blind share | pressure avg / max % | chats/s per worker | worker CPU throttled (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        runs = sorted(p for p in (args.results / name).glob("2*") if (p / "verdict.json").exists())[-args.runs:]
        f = [figures(p) for p in runs]
        expected = expected_verdict(name, args.litellm)
        fails = sum(x["status"] == "fail" for x in f) if expected == "pass" else "-"
        stall = ", ".join(f"{x['stall_s']:.0f} s ({x['stall_s'] / max(x['total_s'], 1):.0%})" for x in f)
        pressure = ", ".join(f"{x['pressure_avg']}/{x['pressure_max']}" for x in f)
        throttled = ", ".join(f"{x['throttled_s']:.0f}" for x in f)
        print(f"| {name} | {expected} | {', '.join(x['status'] for x in f)} | {fails} | {sum(x['status'] == 'inconclusive' for x in f)} "
              f"| {stall} | {max((x['worst_blind_share'] for x in f), default=0):.1%} "
              f"| {pressure} | {f[0]['rate'] if f else '-'} | {throttled} |")


if __name__ == "__main__":
    main()
