"""Bad input: one clear line naming the problem, a non-zero exit, nothing started or left behind."""

import json
import re
import socket
import sys

import pytest

from .helpers import run_cli, snapshot


def _one_line_error(out, *needles):
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert out.returncode != 0
    assert len(lines) == 1, out.stderr
    assert re.match(r"chaos( [a-z]+)*: error: ", lines[0]), lines[0]  # argparse's refusals name the verb
    assert "Traceback" not in out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    "args, needles",
    [
        (["up", "--litellm", "1.82.7"], ["1.82.7", "compromised"]),
        (["up", "--litellm", "1.82.8"], ["1.82.8", "compromised"]),
        (["up", "--litellm", "1.107.0"], ["1.107.0", "compromised"]),
        (["up", "--litellm", "latest"], ["'latest'", "X.Y.Z"]),
        (["up", "--litellm", "0.0.999"], ["--litellm 0.0.999", "no such release on the package index"]),
        (["up", "--replicas", "0"], ["--replicas 0", "1 to"]),
        (["up", "--replicas", "-2"], ["--replicas -2", "1 to"]),
        (["up", "--replicas", "three"], ["'three'"]),
        (["up", "--models", "a,,b"], ["--models"]),
        (["up", "--backend", "kubernetes"], ["kubernetes"]),
        (["smoke", "--litellm", "1.107.0"], ["1.107.0"]),
        (["status", "no-such-run"], ["no-such-run"]),
        (["down", "no-such-run"], ["no-such-run"]),
        (["down"], ["RUN_ID", "--all"]),
        (["frobnicate"], ["frobnicate"]),
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing(args, needles):
    before = snapshot()
    out = run_cli(*args, timeout=120)
    _one_line_error(out, *needles)
    assert snapshot() == before


def test_missing_binary_is_named():
    before = snapshot()
    out = run_cli("up", "--replicas", "1", env={"CHAOS_HAPROXY_BIN": "/nonexistent/haproxy"})
    _one_line_error(out, "haproxy", "/nonexistent/haproxy")
    assert out.returncode == 3
    assert snapshot() == before


def test_port_in_use_is_named():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        before = snapshot()
        # the taken port is the third one of the block (haproxy's)
        out = run_cli("up", "--replicas", "1", "--base-port", str(taken - 1))
        _one_line_error(out, f"port {taken}", "in use", "--base-port")
        assert snapshot() == before


def test_doctor_names_missing_prerequisite_and_how_to_install():
    out = run_cli("doctor", env={"CHAOS_TOXIPROXY_SERVER_BIN": "/nonexistent/toxiproxy-server"})
    assert out.returncode == 3
    assert "FAIL toxiproxy-server" in out.stdout
    assert "/nonexistent/toxiproxy-server" in out.stdout
    ok = run_cli("doctor")
    assert ok.returncode == 0, ok.stdout
    assert "Prisma query engine" in ok.stdout


def test_doctor_says_which_prisma_engine_and_refuses_a_missing_one(monkeypatch):
    from chaos.host.doctor import prisma_engine_check

    monkeypatch.setenv("PRISMA_QUERY_ENGINE_BINARY", "/nonexistent/query-engine")
    ok, required, line = prisma_engine_check()
    assert (ok, required) == (False, True) and "/nonexistent/query-engine is not an executable file" in line
    monkeypatch.delenv("PRISMA_QUERY_ENGINE_BINARY")
    ok, required, line = prisma_engine_check()
    assert (ok, required) == (False, False) and "Not connected to the query engine" in line  # a warning
    monkeypatch.setenv("PRISMA_QUERY_ENGINE_BINARY", sys.executable)
    assert prisma_engine_check()[0] is True


@pytest.mark.parametrize(
    "args, needles",
    [
        (["run", "S99"], ["'S99'", "S1"]),
        (["reproduce", "99999"], ["'99999'", "26237"]),
        (["run", "S1", "--rate", "-5"], ["-5", "positive"]),
        (["run", "S1", "--replicas", "0"], ["--replicas 0"]),
        (["run", "S1", "--rate", "nan"], ["chaos: error: --rate nan: expected a positive number"]),
        (["run", "S1", "--rate", "inf"], ["--rate inf: expected a positive number"]),
        (["run", "S1", "--cpu-limit", "0"], ["--cpu-limit 0.0 is out of range", "more than 0 and at most"]),
        (["run", "S1", "--cold-start", "--backend", "compose"], ["--cold-start: the compose backend has no fast path",
                                                                 "always a cold start", "drop --cold-start"]),
        (["run", "S1", "--max-blind-share", "1"], ["--max-blind-share 1: expected a share strictly between 0 and 1"]),
        (["run", "S1", "--repeat", "0"], ["chaos run: error: argument --repeat: '0': expected a whole number >= 1"]),
        (["explore", "--runs", "0"], ["chaos explore: error: argument --runs: '0': expected a whole number >= 1"]),
        (["explore", "--runs", "-1"], ["argument --runs: '-1': expected a whole number >= 1"]),
        (["explore", "--rate", "nan"], ["--rate nan: expected a positive number"]),
        (["explore", "--replicas", "0"], ["--replicas 0 is out of range"]),
        (["explore", "--runs", "2", "--budget", "1h"], ["give --runs or --budget, not both"]),
        (["env", "--list", "--since", "banana"], ["--since 'banana' is not a LiteLLM release number"]),
        (["bisect", "S1", "--good", "1.82.7", "--bad", "1.82.3"], ["--good 1.82.7", "known-compromised"]),
        (["bisect", "S1", "--good", "1.82.3", "--bad", "x"], ["--bad 'x' is not a LiteLLM release number"]),
        (["bisect", "S1", "--good", "9.9.9", "--bad", "1.82.3"], ["--good 9.9.9: no such release on the package index"]),
        (["bisect", "S1", "--good", "1.82.3", "--bad", "1.82.3"], ["the same version (1.82.3)"]),
        (["selftest", "--rate", "inf"], ["--rate inf: expected a positive number"]),
        (["replay", "/nonexistent/schedule.json"], ["/nonexistent/schedule.json"]),
    ],
)
def test_bad_scenario_input_starts_nothing(args, needles):
    before = snapshot()
    out = run_cli(*args, timeout=120)
    _one_line_error(out, *needles)
    assert snapshot() == before


@pytest.mark.parametrize(
    "schedule, needles",
    [
        ("{not json", ["not valid JSON"]),
        ('{"steps": 3}', ["'steps' list"]),
        ('{"steps": [{"id": "a", "apply": {"kind": "meteor"}}]}', ["'meteor'", "link_down"]),
        ('{"steps": [{"id": "a", "apply": {"kind": "worker_kill", "worker": "worker-9"}}]}', ["worker-9"]),
        ('{"steps": [{"id": "a", "apply": {"kind": "link_down", "link": "redis"}}]}', ["'redis'", "postgres"]),
        ('{"steps": [{"id": "a", "apply": {"kind": "toxic", "type": "latency", "attributes": {"latency": -5}}}]}', ["latency=-5"]),
        ('{"steps": [{"id": "a", "apply": {"kind": "link_down"}, "delay_s": -1}]}', ["delay_s=-1"]),
        ('{"steps": [{"id": "a", "heal": "b"}]}', ["'b'", "earlier step"]),
        ('{"steps": [{"id": "a", "apply": {"kind": "link_flap", "duty": 2}}]}', ["duty=2"]),
        ('{"recovery_s": -3, "steps": []}', ["recovery_s=-3"]),
    ],
)
def test_bad_schedule_file_starts_nothing(tmp_path, schedule, needles):
    path = tmp_path / "schedule.json"
    path.write_text(schedule)
    before = snapshot()
    out = run_cli("replay", str(path), "--replicas", "2", timeout=120)
    _one_line_error(out, *needles)
    assert snapshot() == before


def test_unknown_trigger_event_is_named(tmp_path):
    path = tmp_path / "schedule.json"
    path.write_text('{"steps": [{"id": "a", "apply": {"kind": "link_down"}, "on": "full_moon"}]}')
    out = run_cli("replay", str(path))
    _one_line_error(out, "'full_moon'", "worker_ready")


@pytest.mark.parametrize(
    "schedule, needles",
    [
        ('{"steps": [{"id": "a", "apply": {"kind": "link_down"}}, {"id": "b", "heal": "a", "on": "worker_ready", '
         '"fallback": {"from": "worker_live", "after_s": 300}}]}', ["after_s=300", "within_s=120"]),
        ('{"steps": [{"id": "a", "apply": {"kind": "link_down"}}, {"id": "b", "heal": "a", "on": "worker_ready"}]}',
         ["'worker_ready'", "fallback"]),
        ('{"steps": [], "contract": ["recovery", "no_such_checker"]}', ["no_such_checker", "no_invalid_model_strict"]),
    ],
)
def test_bad_triggers_and_judges_start_nothing(tmp_path, schedule, needles):
    path = tmp_path / "schedule.json"
    path.write_text(schedule)
    before = snapshot()
    out = run_cli("replay", str(path), timeout=120)
    _one_line_error(out, *needles)
    assert snapshot() == before


@pytest.mark.parametrize("args, needles", [
    (["selftest", "--mutant", "no-such-mutant"], ["'no-such-mutant'", "fixed"]),
    (["selftest", "--litellm", "1.82.3"], ["1.82.3", "1.106"]),
    (["mutant", "build", "no-such-mutant", "--out", "/tmp/never-made"], ["'no-such-mutant'"]),
    (["run", "S1", "--litellm-venv", "/nonexistent/venv"], ["/nonexistent/venv", "no virtualenv"]),
])
def test_bad_selftest_and_venv_input_starts_nothing(args, needles):
    before = snapshot()
    out = run_cli(*args, timeout=120)
    _one_line_error(out, *needles)
    assert snapshot() == before


@pytest.fixture(scope="module")
def bare_venvs(tmp_path_factory):
    """A virtualenv without LiteLLM, and one with LiteLLM and an ungenerated prisma client."""
    import subprocess
    import sys
    from pathlib import Path

    root = tmp_path_factory.mktemp("venvs")
    uv = str(Path(sys.executable).parent / "uv")
    empty, ungenerated = root / "empty", root / "ungenerated"
    for venv in (empty, ungenerated):
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    # the packages only (no dependencies needed to be found), and prisma as published: not generated
    subprocess.run([uv, "pip", "install", "-q", "--python", str(ungenerated / "bin" / "python"), "--no-deps",
                    "litellm==1.106.2", "litellm-proxy-extras==0.4.108"], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(ungenerated / "bin" / "python"), "prisma==0.11.0"], check=True)
    return empty, ungenerated


def test_a_venv_without_litellm_or_without_a_generated_prisma_client_is_one_line(bare_venvs):
    empty, ungenerated = bare_venvs
    before = snapshot()
    _one_line_error(run_cli("run", "S1", "--litellm-venv", str(empty)), "no LiteLLM installed", str(empty))
    _one_line_error(run_cli("run", "S1", "--litellm-venv", str(ungenerated)), "prisma client is not generated", "prisma generate")
    _one_line_error(run_cli("selftest", "--litellm-venv", str(ungenerated), "--quick"), "prisma client is not generated")
    assert snapshot() == before


@pytest.mark.parametrize("share", ["0", "1", "1.5", "-0.1"])
def test_a_coverage_threshold_outside_0_1_is_refused(share):
    before = snapshot()
    _one_line_error(run_cli("run", "S1", "--max-blind-share", share), f"--max-blind-share {float(share):g}", "between 0 and 1")
    assert snapshot() == before


def test_a_rate_the_machine_cannot_carry_is_refused_with_what_it_can():
    before = snapshot()
    _one_line_error(run_cli("run", "S1", "--rate", "5000"), "--rate 5000", "this machine carries about", "or less")
    assert snapshot() == before


def _schedule_file(tmp_path, stack):
    import json

    from chaos.scenarios import catalog

    data = catalog.get("S1").schedule.to_json() | {"stack": stack}
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(data))
    return path


def test_replay_of_a_run_whose_litellm_cannot_be_had_starts_nothing(tmp_path):
    before = snapshot()
    gone = _schedule_file(tmp_path, {"replicas": 2, "litellm_venv": "/nonexistent/patched-venv"})
    _one_line_error(run_cli("replay", str(gone)), "/nonexistent/patched-venv", "no longer exists", "--litellm")
    compromised = _schedule_file(tmp_path, {"replicas": 2, "litellm_version": "1.82.7"})
    _one_line_error(run_cli("replay", str(compromised)), "1.82.7", "compromised")
    assert snapshot() == before


def test_shrink_of_a_passing_run_says_its_verdict(tmp_path):
    from .evidence_factory import make_evidence

    folder = make_evidence(tmp_path / "run")
    _one_line_error(run_cli("shrink", str(folder)), "not a failing run (its verdict is PASS)")


def test_an_unreachable_docker_engine_is_named_with_its_cause():
    from chaos.host.docker_env import _why_unreachable

    sdk = "Error while fetching server API version: ('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))"
    assert _why_unreachable(sdk) == "no socket there"
    assert _why_unreachable("Error while fetching server API version: Connection refused") == "connection refused"
    assert _why_unreachable("something new:") == "something new"


def test_a_restart_scenario_without_db_models_is_not_applicable_and_says_which_flag_gives_them(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("model_list:\n  - model_name: m1\n    litellm_params:\n      model: openai/m1\n")
    before = snapshot()
    out = run_cli("run", "S1", "--litellm-config", str(config), "--results", str(tmp_path / "res"), timeout=120)
    assert out.returncode == 6, out.stdout + out.stderr
    assert "S1: NOT APPLICABLE" in out.stdout and "--db-models-from FILE" in out.stdout
    assert "evidence problem" not in out.stdout and snapshot() == before  # nothing started
    verdict = json.loads(next((tmp_path / "res" / "S1").glob("2*/verdict.json")).read_text())
    assert verdict["status"] == "not_applicable" and "needs models in the DB" in verdict["reason"]


def test_premise_is_met_by_db_models_or_by_a_schedule_that_creates_them():
    from chaos.scenarios import catalog
    from chaos.stack import StackConfig

    config_only = StackConfig(models=("m1", "m2"), config_models=("m1", "m2"))
    mixed = StackConfig(models=("m1", "m2"), config_models=("m1",))
    assert "needs models in the DB" in catalog.get("S1").premise_missing(config_only)
    assert catalog.get("S1").premise_missing(mixed) is None  # one DB model is enough; both kinds are judged
    assert catalog.get("S8").premise_missing(config_only) is None  # S8 creates its own
