"""`chaos selftest`: the suite tests itself against mutant gateways.

For each mutant (chaos.mutants.catalog): build its throw-away venv from the LiteLLM at hand, run
each of its scenarios on it, and compare: a mutant must be caught (its scenario's verdict is
fail), a fixed build must pass. A run counts only if the worker's log shows the mutant's patches
were applied. Prints a table (mutant, expected, observed, verdict, evidence) and writes it, with
the mutation score, to selftest.json and selftest.md; exit 0 only if every mutant is caught and
every fixed build passes."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from chaos.evidence import layout
from chaos.host.paths import state_dir
from chaos.litellm.env import LiteLLMEnv
from chaos.mutants.build import build_mutant_env
from chaos.mutants.catalog import CAUGHT, MUTANTS, PASSES, Mutant
from chaos.options import RunSettings
from chaos.oracle.verdict import FAILED, PASS
from chaos.run.plan import plan_run
from chaos.run.runner import Run
from chaos.scenarios import catalog

ACTIVE_MARK = "litellm-chaos mutant {name}: applied"


@dataclass
class Row:
    mutant: str
    scenario: str
    expected: str  # caught | passes
    observed: str  # caught | passes | aborted
    verdict: str
    failed: list[str]
    active: bool  # the worker's log shows the patches applied
    evidence: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.active and self.observed == self.expected


def select(names: list[str] | None, quick: bool) -> list[tuple[Mutant, tuple[str, ...]]]:
    """(mutant, its scenarios to run): every mutant, the named ones, or the quick subset (first scenario)."""
    chosen = [MUTANTS[n] for n in names] if names else list(MUTANTS.values())
    if quick and not names:
        chosen = [m for m in chosen if m.quick]
    return [(m, m.scenarios[:1] if quick else m.scenarios) for m in chosen]


def run_selftest(base: LiteLLMEnv, plan: list[tuple[Mutant, tuple[str, ...]]], results: Path, *, rate: float | None,
                 backend: str = "local", keep_venvs: Path | None = None, log=print) -> tuple[list[Row], Path]:
    out_dir = results / "selftest" / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True)
    venvs = Path(keep_venvs) if keep_venvs else Path(tempfile.mkdtemp(prefix="mutants-", dir=_tmp_root()))
    rows: list[Row] = []
    try:
        for mutant, names in plan:
            env = build_mutant_env(base, mutant, venvs / mutant.name)
            log(f"selftest: mutant {mutant.name} ({mutant.change}) in {env.root}")
            for name in names:
                rows.append(_one(mutant, name, env, out_dir / mutant.name, rate, backend, log))
                log(f"selftest: {mutant.name} x {name}: expected {rows[-1].expected}, observed {rows[-1].observed}"
                    f"{'' if rows[-1].active else ' (mutant NOT active)'}")
    finally:
        if not keep_venvs:
            shutil.rmtree(venvs, ignore_errors=True)
    _write(out_dir, base, rows)
    return rows, out_dir


def _tmp_root() -> Path:
    root = state_dir() / "mutants"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _one(mutant: Mutant, name: str, env: LiteLLMEnv, results: Path, rate: float | None, backend: str, log) -> Row:
    settings = RunSettings(litellm_venv=env.root, rate=rate, results=results, backend=backend)
    t0 = time.monotonic()
    run = Run(plan_run(settings, catalog.get(name), env.version))
    verdict = run.execute()
    observed = {FAILED: CAUGHT, PASS: PASSES}.get(verdict.status, verdict.status)  # inconclusive or aborted
    logs = Path(run.evidence) / layout.LOGS
    mark = ACTIVE_MARK.format(name=mutant.name)
    active = any(mark in p.read_text(errors="replace") for p in logs.glob("worker-*.log"))
    return Row(mutant.name, name, mutant.expect, observed, verdict.status, verdict.failed or ([verdict.reason] if verdict.reason else []),
               active, str(run.evidence), round(time.monotonic() - t0, 1))


def score(rows: list[Row]) -> tuple[int, int]:
    """(mutants caught by every scenario they were run on, mutants run), fixed builds left out."""
    by_mutant: dict[str, list[Row]] = {}
    for row in rows:
        if row.expected == CAUGHT:
            by_mutant.setdefault(row.mutant, []).append(row)
    return sum(all(r.ok for r in rs) for rs in by_mutant.values()), len(by_mutant)


def table(rows: list[Row]) -> str:
    head = "| mutant | scenario | expected | observed | verdict | failed invariants | active | evidence |\n|---|---|---|---|---|---|---|---|\n"
    return head + "".join(
        f"| {r.mutant} | {r.scenario} | {r.expected} | {r.observed}{'' if r.ok else ' **(wrong)**'} | {r.verdict} | "
        f"{', '.join(r.failed) or '-'} | {'yes' if r.active else 'NO'} | {r.evidence} |\n" for r in rows)


def summary(rows: list[Row]) -> str:
    caught, total = score(rows)
    fixed = [r for r in rows if r.expected == PASSES]
    return (f"mutation score {caught}/{total}; fixed builds passing {sum(r.ok for r in fixed)}/{len(fixed)} runs; "
            f"{sum(r.seconds for r in rows):.0f} s in {len(rows)} runs")


def _write(out_dir: Path, base: LiteLLMEnv, rows: list[Row]) -> None:
    caught, total = score(rows)
    (out_dir / layout.SELFTEST).write_text(json.dumps({
        "base": {"litellm_version": base.version, "root": str(base.root)}, "mutation_score": [caught, total],
        "ok": all(r.ok for r in rows), "rows": [asdict(r) | {"ok": r.ok} for r in rows],
        "mutants": {m.name: asdict(m) for m in MUTANTS.values()}}, indent=2))
    (out_dir / "selftest.md").write_text(f"# chaos selftest on LiteLLM {base.version}\n\n{summary(rows)}\n\n{table(rows)}")
