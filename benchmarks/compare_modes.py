"""Do the fast defaults (warm stack, early decisions) give the same verdicts as the full mode
(--fresh-stack --full-window)? Compares two result folders per (scenario, LiteLLM version):
the verdict and every invariant's status, and prints each difference.

    .venv/bin/python benchmarks/compare_modes.py FULL_RESULTS FAST_RESULTS

Both folders as `pytest -m chaos --chaos-results DIR` (or `chaos run`) leave them. Prints figures
and differences; asserts nothing."""

import json
import sys
from pathlib import Path


def outcomes(results: Path) -> dict:
    """(scenario, version) -> (verdict status, {invariant: status}) of the latest run of each."""
    found = {}
    for verdict_path in sorted(results.glob("*/2*/verdict.json")):  # timestamped folders: later ones win
        v = json.loads(verdict_path.read_text())
        key = (v["scenario"], v.get("stack", {}).get("litellm_version"))
        found[key] = (v["status"], {i["name"]: i["status"] for i in v.get("invariants", [])},
                      v.get("durations", {}).get("total_s"))
    return found


def main() -> None:
    full, fast = outcomes(Path(sys.argv[1])), outcomes(Path(sys.argv[2]))
    same = differ = 0
    for key in sorted(set(full) | set(fast), key=lambda k: (k[1] or "", int(k[0][1:]) if k[0][1:].isdigit() else 0)):
        if key not in full or key not in fast:
            print(f"{key[0]} on {key[1]}: only in {'full' if key in full else 'fast'} mode")
            continue
        (vs_full, inv_full, t_full), (vs_fast, inv_fast, t_fast) = full[key], fast[key]
        diffs = [f"{n}: {inv_full.get(n)} -> {inv_fast.get(n)}" for n in sorted(set(inv_full) | set(inv_fast))
                 if inv_full.get(n) != inv_fast.get(n)]
        if vs_full != vs_fast:
            diffs.insert(0, f"verdict {vs_full} -> {vs_fast}")
        differ += bool(diffs)
        same += not diffs
        print(f"{key[0]:4s} on {key[1]}: {'same' if not diffs else 'DIFFERENT: ' + '; '.join(diffs)}"
              f"  ({t_full} s full, {t_fast} s fast)")
    print(f"{same} identical, {differ} different")


if __name__ == "__main__":
    main()
