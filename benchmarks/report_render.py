"""Rendering the report of a 10-minute, 5-worker run (about 100k chat operations plus readiness
polls): wall time and peak memory of `chaos report DIR`, in a fresh process each round; then the
wall time of `chaos report DIR --issue` (the issue-ready Markdown and its timeline) on it.

    .venv/bin/python benchmarks/report_render.py [--rounds 3] [--seconds 600] [--workers 5]

Target (issue 4): < 5 s and < 500 MB. Prints figures only."""

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.evidence_factory import make_evidence  # noqa: E402

MEASURE = """
import resource, sys, time
t0 = time.perf_counter()
from chaos.report.html import render_report
ev = render_report(sys.argv[1])
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, len(ev.ops))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--rate", type=float, default=34, help="chat probes/s per worker (34 x 5 x 600 s = 102k)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        folder = make_evidence(Path(tmp) / "run", workers=args.workers, seconds=args.seconds, rate_per_worker=args.rate,
                               violations_at=(args.seconds * 0.7,))
        print(f"synthetic evidence: {args.workers} workers x {args.seconds:.0f} s at {args.rate:g}/s "
              f"({(folder / 'history.jsonl').stat().st_size / 1e6:.0f} MB history) in {time.perf_counter() - t0:.1f} s")
        walls, peaks = [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", MEASURE, str(folder)], capture_output=True, text=True, cwd=ROOT, check=True)
            process_s = time.perf_counter() - t
            render_s, peak_mb, ops = out.stdout.split()
            walls.append(process_s)
            peaks.append(float(peak_mb))
            print(f"  render {float(render_s):.2f} s (whole process incl. interpreter start {process_s:.2f} s), "
                  f"peak RSS {float(peak_mb):.0f} MB, {ops} operations")
        issue_walls = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "chaos.cli", "report", str(folder), "--issue", "--out", f"{tmp}/issue.md"],
                           capture_output=True, text=True, cwd=ROOT, check=True)
            issue_walls.append(time.perf_counter() - t)
        print(f"chaos report --issue: median {statistics.median(issue_walls):.2f} s, all "
              f"{[round(w, 2) for w in issue_walls]} (whole command, interpreter start included)")
        print(f"report render: median {statistics.median(walls):.2f} s per run, peak RSS max {max(peaks):.0f} MB "
              f"(target < 5 s, < 500 MB); cpu of this harness {resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime:.1f} s user")


if __name__ == "__main__":
    main()
