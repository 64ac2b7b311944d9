"""Do fast starts (the local default: workers forked from a template) give the verdicts cold
starts (--cold-start) give? Judges every run in the given result folders against
scenarios/expectations.py, the per-invariant outcomes recorded from observed runs (FAILS: always
failed; FLAKY: seen both ways; absent: always held), and prints each invariant where a run
disagrees, with its kind of start. For a run-by-run comparison of two folders use compare_modes.py.

    .venv/bin/chaos run S1 ... S13 --litellm V --results FAST
    .venv/bin/chaos run S1 ... S13 --litellm V --cold-start --results COLD
    .venv/bin/python benchmarks/start_modes.py FAST COLD [...]

Prints figures and differences; asserts nothing."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scenarios.expectations import FAILS, FLAKY, expectation  # noqa: E402


def main() -> None:
    agree = disagree = runs = 0
    for results in map(Path, sys.argv[1:]):
        for path in sorted(results.glob("*/2*/verdict.json")):
            v = json.loads(path.read_text())
            stack = v.get("stack") or {}
            version, start = stack.get("litellm_version"), str(stack.get("worker_start") or "cold").split(":")[0]
            runs += 1
            notes = []
            for inv in v.get("invariants", []):
                if inv.get("role") != "contract" or inv["status"] in ("not_checked",):
                    continue
                known = expectation(v["scenario"], version, inv["name"])
                kind = known.kind if known else None
                if kind == FLAKY:
                    continue
                if inv["status"] == "fail" and kind != FAILS:
                    notes.append(f"{inv['name']} fails (recorded: held)")
                elif inv["status"] == "pass" and kind == FAILS:
                    notes.append(f"{inv['name']} held (recorded: fails)")
                elif inv["status"] == "unknown":
                    notes.append(f"{inv['name']} unknown")
            disagree += bool(notes)
            agree += not notes
            print(f"{v['scenario']:4s} on {version} ({start} start): {v['status']:13s} "
                  f"{'as recorded' if not notes else 'DIFFERENT: ' + '; '.join(notes)}  ({path.parent})")
    print(f"{runs} runs: {agree} as the recorded expectations, {disagree} different")


if __name__ == "__main__":
    main()
