"""The README stays true: .ci/run runs its test command, and the commands it shows exist."""

import re

from chaos.cli import build_parser

from .helpers import ROOT


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = _bash_blocks(readme)
    main_job, tests = blocks[0].strip(), blocks[1].strip()
    assert main_job.startswith("scripts/bootstrap && ")
    assert tests.startswith("scripts/bootstrap && ")
    ci_lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert tests in ci_lines
    assert (ROOT / tests.split("&& ")[-1]).exists()


def test_readme_chaos_commands_exist():
    readme = (ROOT / "README.md").read_text()
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)
    shown = set(re.findall(r"^chaos (\w+)", readme, re.M)) | set(re.findall(r"\.venv/bin/chaos (\w+)", readme))
    assert shown and shown <= subcommands, shown - subcommands
    assert (ROOT / "scripts" / "bootstrap").exists()
