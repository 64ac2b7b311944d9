"""The nightly workflow is linted here (actionlint for its syntax and expressions, zizmor for its
security), so a broken workflow fails CI, not the night; and the fan-out's plan and summary."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chaos import nightly

from chaos.scenarios import catalog
from chaos.errors import UsageError
from chaos.host.paths import cache_dir

from .helpers import ROOT, run_cli

WORKFLOW = ROOT / ".github" / "workflows" / "nightly-chaos.yml"


def actionlint() -> str:
    found = shutil.which("actionlint") or str(cache_dir() / "bin" / "actionlint")
    assert Path(found).exists(), "actionlint is missing: run scripts/bootstrap"
    return found


def zizmor() -> str:
    return str(Path(sys.executable).parent / "zizmor")


def lint(tool: list[str], path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*tool, str(path)], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_the_nightly_workflow_passes_actionlint_and_zizmor():
    for tool in ([actionlint()], [zizmor(), "--offline"]):
        out = lint(tool, WORKFLOW)
        assert out.returncode == 0, f"{tool[0]}:\n{out.stdout}{out.stderr}"


def test_the_lints_fire_on_a_broken_or_unsafe_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ matrix.nope }\n")
    assert lint([actionlint()], broken).returncode != 0
    unsafe = tmp_path / "unsafe.yml"
    unsafe.write_text("on:\n  workflow_dispatch:\n    inputs:\n      v: {}\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
                      "    steps:\n      - run: echo ${{ inputs.v }}\n")  # template injection
    assert lint([zizmor(), "--offline"], unsafe).returncode != 0


def test_the_plan_runs_every_scenario_once_per_version_in_groups_of_about_equal_time():
    times = {"1.0.0": {"S1": 300, "S2": 100, "S3": 100, "S4": 100}}
    shards = nightly.plan(["1.0.0", "2.0.0"], ["S1", "S2", "S3", "S4"], 2, times)
    for version in ("1.0.0", "2.0.0"):
        named = [s for shard in shards if shard.litellm == version for s in shard.scenarios]
        assert sorted(named) == ["S1", "S2", "S3", "S4"]
    first = [s for s in shards if s.litellm == "1.0.0"]
    assert sorted(s.scenarios for s in first) == [("S1",), ("S2", "S3", "S4")]  # 300 s each
    assert nightly.night_estimate_s(first) == 300 + nightly.SHARD_OVERHEAD_S
    assert nightly.time_of("S1", "2.0.0", times) == 300  # another version's time stands in


@pytest.mark.parametrize("spec, needle", [
    ("", "a group names no scenario"),
    ("S1,S2||S3", "a group names no scenario"),
    ("S1,S99", "no scenario S99"),
    ("S1,S2|S2", "S2 in more than one group"),
    ("S1,S2", "leaves out S3"),
])
def test_groups_by_hand_must_name_every_scenario_once(spec, needle):
    with pytest.raises(UsageError, match=needle):
        nightly.parse_groups(spec, ["S1", "S2", "S3"])


def test_plan_json_is_a_github_matrix_whose_shards_select_their_scenarios():
    out = run_cli("nightly", "plan", "--runners", "3", "--litellm", "1.82.3", "--json")
    assert out.returncode == 0, out.stderr
    shards = json.loads(out.stdout)["include"]
    assert len(shards) == 3
    named = [a for s in shards for a in s["pytest_args"].split() if a != "--chaos-scenario"]
    assert sorted(named) == sorted(catalog.SCENARIOS)
    collected = subprocess.run([sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "--collect-only", "-q",
                                "-p", "no:cacheprovider", "--chaos-litellm", "1.82.3", *shards[0]["pytest_args"].split()],
                               capture_output=True, text=True, timeout=120, cwd=ROOT)
    verdicts = sorted(ln.split("[")[1].split("-")[0] for ln in collected.stdout.splitlines() if "test_verdict[" in ln)
    assert verdicts == sorted(shards[0]["scenarios"].split()), collected.stdout


def _junit(path: Path, cases: list[tuple[str, str, str]]) -> None:
    body = ""
    for scenario, version, outcome in cases:
        inner = {"passed": "", "failed": '<failure message="readiness_truthful failed">x</failure>',
                 "xfailed": '<skipped type="pytest.xfail" message="fails: known"/>'}[outcome]
        report = f"/home/runner/work/x/x/chaos-results/{scenario}/2026/report.html"
        body += (f'<testcase classname="scenarios.test_scenarios" name="test_verdict[{scenario}-{version}]">'
                 f'<properties><property name="report" value="{report}"/></properties>{inner}</testcase>')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<testsuites><testsuite name="pytest">{body}</testsuite></testsuites>')


def test_the_summary_names_what_failed_where_with_a_link_to_its_report(tmp_path):
    _junit(tmp_path / "chaos-results-1.82.3-1" / "junit-1.82.3-1.xml", [("S1", "1.82.3", "xfailed"), ("S5", "1.82.3", "passed")])
    _junit(tmp_path / "chaos-results-1.108.7-1" / "junit-1.108.7-1.xml", [("S1", "1.108.7", "failed")])
    out = run_cli("nightly", "summary", str(tmp_path))
    assert out.returncode == 1, out.stdout + out.stderr  # an unexpected failure: the summary job goes red
    md = (tmp_path / "summary.md").read_text()
    assert "1 unexpected result(s) in 3 scenario x version run(s)" in md
    assert "[failed](chaos-results-1.108.7-1/S1/2026/report.html)" in md and "[xfailed](" in md
    assert "- S1 on 1.108.7: failed: readiness_truthful failed" in md
    assert 'href="chaos-results-1.108.7-1/S1/2026/report.html"' in (tmp_path / "summary.html").read_text()
    empty = run_cli("nightly", "summary", str(tmp_path / "nothing"))
    assert empty.returncode == 2 and "no JUnit file" in empty.stderr
