"""The renderer on synthetic evidence folders (same format as a run writes): the timeline never
hides a violation, report.html is self-contained and renders in headless Chromium, the console
verdict block, `chaos report` on good, partial, corrupt and missing folders, `--compare`."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from chaos.evidence.load import load_evidence
from chaos.report.html import render_report
from chaos.report.logwindow import log_window
from chaos.report.summary import verdict_block
from chaos.report.timeline import COLOURS, render_timeline
from chaos.run.progress import Progress

from .evidence_factory import make_evidence
from .helpers import run_cli


def _red_pixels(png: bytes) -> int:
    """Pixels of the invalid_model colour."""
    rgb = imread(io.BytesIO(png))[:, :, :3]
    red = np.array([int(COLOURS["invalid_model"][i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(rgb - red).max(axis=2) < 0.02).sum())


def test_a_single_violation_in_ten_minutes_of_five_workers_is_visible(tmp_path):
    clean = load_evidence(make_evidence(tmp_path / "clean", workers=5, seconds=600, rate_per_worker=30))
    one = load_evidence(make_evidence(tmp_path / "one", workers=5, seconds=600, rate_per_worker=30, violations_at=(417.3,)))
    assert sum(op["cls"] == "invalid_model" for op in one.ops) == 1
    baseline = _red_pixels(render_timeline(clean))  # the legend's swatch
    # one op among ~90k is still drawn (at least 3 px wide), and annotated
    assert _red_pixels(render_timeline(one)) >= baseline + 3 * 5


def test_verdict_block_puts_the_first_violation_in_context(tmp_path):
    path = make_evidence(tmp_path / "run", violations_at=(32.5,))
    block = verdict_block(load_evidence(path))
    assert "S1: FAIL" in block and "LiteLLM 1.82.3" in block and "Prisma engine: synthetic" in block
    # the violation comes 12.3 s after the restart step (applied at 20.2 s)
    assert re.search(r"worker-2 answered invalid_model \(HTTP 400\) for gpt-4o-mini, 12\.\d s after step 'restart'", block), block
    assert f"replay:   chaos replay {path.resolve()}/schedule.json\n" in block  # the schedule records the stack
    clean = verdict_block(load_evidence(make_evidence(tmp_path / "clean")))
    assert "S1: PASS" in clean and "first violation" not in clean


def test_log_window_finds_the_line_of_the_violation(tmp_path):
    log = tmp_path / "worker-2.log"
    log.write_text("\n".join(
        ["03:37:10 - LiteLLM Proxy:ERROR: Invalid model name passed in model=a"]  # before the violation
        + [f"noise {i}" for i in range(30)]
        + ["\x1b[92m03:37:15 - LiteLLM Proxy:ERROR\x1b[0m: Invalid model name passed in model=a", "Traceback"]
        + [f"tail {i}" for i in range(30)]))
    wall = 1795318635.4  # 03:37:15.4 UTC
    window = log_window(log, wall, "model=a", context=3)
    hits = [(n, line) for n, line, hit in window.numbered() if hit]
    assert hits == [(32, "03:37:15 - LiteLLM Proxy:ERROR: Invalid model name passed in model=a")]
    assert len(window.lines) == 7
    assert log_window(log, wall, "model=zzz", context=3).hit is None  # no match: the time alone places it


def _external_references(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']?(?!data:|#)[^"'\s>]+|url\(\s*["']?(?!data:)[^)]+\)|<link\b|<script\b[^>]*src""", html)


def test_report_html_is_self_contained(tmp_path):
    ev = render_report(make_evidence(tmp_path / "run", violations_at=(32.5,)))
    html = (ev.path / "report.html").read_text()
    assert _external_references(html) == []
    assert "data:image/png;base64," in html and (ev.path / "timeline.png").stat().st_size > 10_000
    assert "Invalid model name passed in model=gpt-4o-mini" in html  # the offending worker's log, around the violation
    # the check itself sees an external reference
    assert _external_references('<img src="https://example.invalid/x.png">')


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="no Chromium here (scripts/bootstrap installs Debian's chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    ev = render_report(make_evidence(tmp_path / "run", violations_at=(32.5,)))
    page = (ev.path / "report.html").resolve().as_uri()
    # no network at all: every host name resolves to nothing
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1600,1200", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(base + ["--dump-dom", page], capture_output=True, text=True, timeout=120)
    assert "S1 <span class=\"status fail\">FAIL</span>" in dom.stdout, dom.stderr[-2000:]
    assert "no_invalid_model_strict" in dom.stdout
    shot = tmp_path / "shot.png"
    subprocess.run(base + [f"--screenshot={shot}", page], capture_output=True, timeout=120, cwd=tmp_path)
    pixels = imread(shot)
    assert pixels.shape[:2] == (1200, 1600)
    assert pixels[:, :, :3].std() > 0.05  # not a blank page
    assert _red_pixels(shot.read_bytes()) > 0  # the FAIL badge / the violation are on screen


def test_chaos_report_cli_renders_and_prints_the_verdict_block(tmp_path):
    path = make_evidence(tmp_path / "run", violations_at=(32.5,))
    out = run_cli("report", str(path))
    assert out.returncode == 0, out.stderr
    assert "S1: FAIL" in out.stdout and f"report:   {path.resolve()}/report.html" in out.stdout
    assert (path / "timeline.png").exists()


def test_chaos_report_on_a_partial_or_corrupt_folder_renders_what_it_can(tmp_path):
    path = make_evidence(tmp_path / "run", violations_at=(32.5,))
    (path / "history.jsonl").unlink()
    with open(path / "events.jsonl", "a") as f:
        f.write('{"t": 1, "kind": "trunc')  # a run that died mid-write
    out = run_cli("report", str(path))
    assert out.returncode == 0, out.stderr
    assert "evidence problem: history.jsonl: missing" in out.stdout
    assert "evidence problem: events.jsonl: 1 unreadable line(s), the first at line" in out.stdout
    html = (path / "report.html").read_text()
    assert "history.jsonl: missing" in html and "FAIL" in html
    (path / "verdict.json").write_text("{not json")
    out = run_cli("report", str(path))
    assert out.returncode == 0 and "verdict.json: not valid JSON" in out.stdout


@pytest.mark.parametrize("case, expected", [
    ("missing", "no such evidence folder; expected a directory such as chaos-results/S1/latest"),
    ("empty", "not an evidence folder (none of verdict.json, history.jsonl"),
])
def test_chaos_report_on_no_evidence_folder_is_a_one_line_error(tmp_path, case, expected):
    path = tmp_path / "nothing"
    if case == "empty":
        path.mkdir()
    out = run_cli("report", str(path))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and expected in out.stderr and "Traceback" not in out.stderr
    assert not (path / "report.html").exists()


def test_chaos_report_compare_puts_two_runs_side_by_side(tmp_path):
    a = make_evidence(tmp_path / "a", violations_at=(32.5,))
    b = make_evidence(tmp_path / "b")
    out = run_cli("report", str(a), "--compare", str(b), "--out", str(tmp_path / "cmp.html"))
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "cmp.html").read_text()
    row = re.search(r"<tr><td>no_invalid_model_strict</td>(.*?)</tr>", html)[1]
    assert "FAIL" in row.split("</td>")[0] and "PASS" in row.split("</td>")[1]
    assert html.count("data:image/png;base64,") == 2 and _external_references(html) == []
    assert run_cli("report", str(a), "--out", "x.html").returncode == 2  # --out only with --compare


def test_progress_line_only_on_a_terminal(capsys):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    progress = Progress("S1", tty)
    progress.watch(lambda: 1234, lambda: {"worker-1": 7, "worker-2": 0})
    progress.set_phase("faults")
    progress.log("a log line")
    assert "[S1] faults" in tty.getvalue() and "sent 1234  invalid_model: worker-1=7 worker-2=0" in tty.getvalue()
    assert capsys.readouterr().err == "a log line\n"
    quiet = Progress.for_terminal("S1")  # pytest's captured stdout is not a terminal
    assert not quiet.enabled
    with quiet:
        quiet.log("another")
    assert capsys.readouterr().out == ""


def test_evidence_reader_keeps_the_folder_not_the_latest_link(tmp_path):
    path = make_evidence(tmp_path / "S1" / "20260101-000000-abcdef")
    (tmp_path / "S1" / "latest").symlink_to(path.name)
    ev = load_evidence(tmp_path / "S1" / "latest")
    assert ev.path.name == "20260101-000000-abcdef"
    assert json.loads((path / "schedule.json").read_text())["stack"] == {"replicas": 3}


# The fields of LiteLLM's bug-report template (BerriAI/litellm .github/ISSUE_TEMPLATE/bug_report.yml), in its order
TEMPLATE_FIELDS = ("What happened?", "Steps to Reproduce", "Relevant log output", "What part of LiteLLM is this about?",
                   "What LiteLLM version are you on ?")


def _sections(md: str) -> dict[str, str]:
    parts = md.split("\n### ")[1:]
    return {p.split("\n", 1)[0].strip(): p.split("\n", 1)[1].strip() for p in parts}


def _machine_specific_evidence(tmp_path):
    """A failing run whose evidence names this machine's paths: the engine binary, a virtualenv,
    a traceback through site-packages, and a traceback cut by a plain window of lines."""
    folder = make_evidence(tmp_path / "run", workers=2, seconds=40, violations_at=(30.0,))
    verdict = json.loads((folder / "verdict.json").read_text())
    verdict["stack"]["prisma_query_engine"] = ("binary named by PRISMA_QUERY_ENGINE_BINARY: /work/shared/prisma-offline/"
                                               "query-engine (query-engine 393aa359)")
    (folder / "verdict.json").write_text(json.dumps(verdict))
    schedule = json.loads((folder / "schedule.json").read_text())
    schedule["stack"] |= {"litellm_version": "1.82.3", "litellm_venv": f"{Path.home()}/.cache/litellm-chaos/venvs/x"}
    (folder / "schedule.json").write_text(json.dumps(schedule))
    log = folder / "logs" / "worker-2.log"
    lines = log.read_text().splitlines()
    hit = next(i for i, ln in enumerate(lines) if "Invalid model name" in ln)
    frames = ["Traceback (most recent call last):"] + [
        f'  File "{Path.home()}/.cache/litellm-chaos/venvs/litellm-1.82.3-py311/lib/python3.11/site-packages/litellm/f{i}.py", '
        f"line {i}, in f{i}\n    call_{i}()" for i in range(6)] + ["httpx.ConnectError: All connection attempts failed"]
    lines[hit - 2:hit - 2] = ["ERROR:    Exception in ASGI application", *"\n".join(frames).splitlines()]
    log.write_text("\n".join(lines) + "\n")
    return folder, schedule


def test_issue_report_fills_litellms_bug_template_and_stands_alone(tmp_path):
    folder, schedule = _machine_specific_evidence(tmp_path)
    out = run_cli("report", str(folder), "--issue", "--out", str(tmp_path / "bug.md"))
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "bug.md").read_text()
    assert md.startswith("# [Bug]: worker-2 answers invalid model (HTTP 400)")
    sections = _sections(md)
    assert [name for name in sections if name in TEMPLATE_FIELDS] == list(TEMPLATE_FIELDS)  # every field, in order
    assert all(sections[name] for name in TEMPLATE_FIELDS)
    assert sections["What part of LiteLLM is this about?"] == "Proxy"
    assert sections["What LiteLLM version are you on ?"].startswith("v1.82.3")
    # no path of this machine: the engine by kind and version, the environment by version, files by package
    for leak in (str(tmp_path), str(Path.home()), "/work/", "/tmp/", ".cache/litellm-chaos"):
        assert leak not in md, leak
    assert "binary named by PRISMA_QUERY_ENGINE_BINARY (query-engine 393aa359)" in md
    assert 'File "site-packages/litellm/f0.py"' in md
    # how to get the tool and replay the run: the schedule inline, replayable elsewhere
    assert "Found with litellm-chaos" in md and "scripts/bootstrap" in md and ".venv/bin/chaos replay schedule.json" in md
    inline = json.loads(md.split("<summary>schedule.json</summary>\n\n```json\n")[1].split("\n```")[0])
    expected = dict(schedule, stack={k: v for k, v in schedule["stack"].items() if k != "litellm_venv"})
    assert inline == expected
    # one set of counts, each expectation once
    assert "offending answers" not in md and md.count("| replica | all |") == 1
    for inv in json.loads((folder / "verdict.json").read_text())["invariants"]:
        assert md.count(inv["description"]) == 1, inv["description"]
    # the log excerpt: whole records (the traceback whole: from its header to its exception)
    excerpt = sections["Relevant log output"].split("```shell\n")[1].split("\n```")[0].splitlines()
    assert not excerpt[0].startswith((" ", "Traceback", "httpx."))
    assert "Traceback (most recent call last):" in excerpt
    assert excerpt[excerpt.index("Traceback (most recent call last):") + 13].startswith("httpx.ConnectError")
    assert (tmp_path / "bug-timeline.png").stat().st_size > 10_000 and "![timeline](bug-timeline.png)" in md
    assert "sk-" not in md
    assert "store_model_in_db: true" in md and "STORE_MODEL_IN_DB=True" in md


def test_issue_report_says_where_store_model_in_db_was_set(tmp_path):
    """S2's setup: the setting only in the DB; the report must not show it in the config."""
    folder = make_evidence(tmp_path / "run", workers=2, seconds=40, violations_at=(30.0,))
    schedule = json.loads((folder / "schedule.json").read_text())
    schedule["stack"] |= {"store_model_in_db_source": "db", "worker_env": {"PRISMA_RECONNECT_COOLDOWN_SECONDS": "5"}}
    (folder / "schedule.json").write_text(json.dumps(schedule))
    md = (tmp_path / "bug.md")
    assert run_cli("report", str(folder), "--issue", "--out", str(md)).returncode == 0
    config = md.read_text().split("The proxy config")[1].split("With every replica up")[0]
    assert "store_model_in_db: true" not in config and "STORE_MODEL_IN_DB" not in config
    assert "only in the DB" in config and "`PRISMA_RECONNECT_COOLDOWN_SECONDS=5`" in config


def test_issue_report_of_a_passing_run_has_nothing_to_report(tmp_path):
    folder = make_evidence(tmp_path / "run", workers=2, seconds=20, violations_at=())
    out = run_cli("report", str(folder), "--issue")
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0
    assert "nothing to report" in out.stderr


def test_the_issue_leads_with_the_first_invalid_model_answer_not_the_first_violation(tmp_path):
    folder = make_evidence(tmp_path / "run", workers=2, seconds=40, violations_at=(30.0,))
    verdict = json.loads((folder / "verdict.json").read_text())
    invalid = next(i for i in verdict["invariants"] if i["status"] == "fail")
    earlier = json.loads(json.dumps(invalid["violations"][0]))
    earlier["first"] = earlier["last"] = earlier["first"] | {"t": earlier["first"]["t"] - 5, "cls": "not_listed", "status": 200}
    verdict["invariants"].append({"name": "models_loaded_before_ready", "description": "ready only once loaded",
                                  "status": "fail", "role": "contract", "violations": [earlier]})
    verdict["first_violation"] = ["models_loaded_before_ready", earlier]
    (folder / "verdict.json").write_text(json.dumps(verdict))
    assert run_cli("report", str(folder), "--issue", "--out", str(tmp_path / "bug.md")).returncode == 0
    md = (tmp_path / "bug.md").read_text()
    assert md.startswith("# [Bug]: worker-2 answers invalid model (HTTP 400)")
    assert "(it broke the expectation `no_invalid_model_strict`" in md


def test_the_headline_says_how_the_workers_started():
    from chaos.report.summary import start_words

    assert start_words("fork: each start forks a template") == ", workers forked from a template"
    assert start_words("cold: a new interpreter per start (--cold-start)") == ", cold worker starts"
    assert start_words(None) == ""  # evidence from before the kind of start was recorded


def test_verdict_block_says_what_postgresql_saw_of_a_failed_recovery(tmp_path):
    path = make_evidence(tmp_path / "run", violations_at=(32.5,))
    verdict = json.loads((path / "verdict.json").read_text())
    stuck = "PostgreSQL's log: worker-1 never read the model table after the heal: no reload attempted (stuck)"
    verdict["invariants"].append({"name": "recovery", "description": "", "status": "fail", "role": "contract",
                                  "note": stuck, "violations": []})
    (path / "verdict.json").write_text(json.dumps(verdict))
    assert f"\nrecovery: {stuck}\n" in verdict_block(load_evidence(path))
    assert "\nrecovery: " not in verdict_block(load_evidence(make_evidence(tmp_path / "clean")))
