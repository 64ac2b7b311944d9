"""The pytest plugin checks its --chaos-* options before collection, with the CLI's own checks:
one line naming the pytest flag, exit 4 (pytest's usage error), no test run, no traceback."""

import subprocess
import sys
import time

import pytest

from .helpers import ROOT


def run_pytest(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-m", "chaos", "-p", "no:cacheprovider", "scenarios", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("args, needle", [
    (["--chaos-rate", "-1"], "--chaos-rate -1: expected a positive number"),
    (["--chaos-rate", "nan"], "--chaos-rate nan: expected a positive number"),
    (["--chaos-rate", "inf"], "--chaos-rate inf: expected a positive number"),
    (["--chaos-rate", "400"], "--chaos-rate 400 chats/s per worker: this machine carries about"),
    (["--chaos-probe-per-pair-s", "0"], "--chaos-probe-per-pair-s 0: expected a positive number"),
    (["--chaos-max-blind-share", "1.5"], "--chaos-max-blind-share 1.5: expected a share strictly between 0 and 1"),
    (["--chaos-cpu-limit", "0"], "--chaos-cpu-limit 0.0 is out of range"),
    (["--chaos-replicas", "0"], "--chaos-replicas 0 is out of range"),
    (["--chaos-litellm", "banana"], "--chaos-litellm 'banana' is not a LiteLLM release number"),
    (["--chaos-litellm", "1.82.7"], "--chaos-litellm 1.82.7: LiteLLM 1.82.7 is a known-compromised release"),
    (["--chaos-litellm", "0.0.999"], "--chaos-litellm 0.0.999: no such release on the package index"),
    (["--chaos-models-file", "/no/such/file"], "--chaos-models-file /no/such/file"),
    (["--chaos-db-models-from", "x.yaml"], "--chaos-db-models-from goes with --chaos-litellm-config"),
    (["--chaos-litellm-venv", "/no/such/venv"], "/no/such/venv"),
])
def test_a_bad_chaos_option_is_one_line_before_collection(args, needle):
    t = time.monotonic()
    out = run_pytest(*args)
    errors = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert out.returncode == 4, out.stdout + out.stderr
    assert len(errors) == 1 and errors[0].startswith("ERROR: ") and needle in errors[0], out.stderr
    assert "Traceback" not in out.stdout + out.stderr and "collected" not in out.stdout
    assert time.monotonic() - t < 60, "checked once, not per test"


def test_good_options_collect_and_the_help_speaks_of_pytest_flags():
    out = run_pytest("--collect-only", "-q", "--chaos-rate", "5", "--chaos-litellm", "1.82.3")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "S1" in out.stdout
    helptext = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], capture_output=True,
                              text=True, timeout=120, cwd=ROOT).stdout
    start = helptext.index("litellm-chaos:")
    chaos_part = " ".join(helptext[start:helptext.index("\n\n", start)].split())
    assert "--chaos-replicas" in chaos_part and "implies --chaos-fresh-stack" in chaos_part
    assert "CLI" not in chaos_part and " --rate" not in chaos_part  # pytest's help names pytest's flags
