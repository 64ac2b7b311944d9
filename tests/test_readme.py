"""The README and docs/ stay true: .ci/run runs the README's test command, and every `chaos` command
and `--chaos-*` option they show exists, with the flags shown for it."""

import re

from chaos import options
from chaos.cli import build_parser

from .helpers import ROOT

NESTED = ("images", "mutant", "nightly")  # verbs with verbs of their own


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def _pages() -> dict[str, str]:
    pages = {"README.md": (ROOT / "README.md").read_text()}
    pages |= {str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / "docs").rglob("*.md"))}
    return pages


def _commands(text: str) -> list[str]:
    """`chaos ...` in inline code and the lines of code blocks that run chaos."""
    inline = re.findall(r"`(?:\.venv/bin/)?(chaos [a-z][^`]*)`", text)
    blocks = [body for lang, body in re.findall(r"```([a-z]*)\n(.*?)```", text, re.S) if lang != "python"]
    lines = [re.sub(r"^.*?(?:\.venv/bin/)?(?=chaos )", "", ln).split("#")[0]
             for block in blocks for ln in block.splitlines() if re.search(r"(^|[\s&/])chaos [a-z]", ln)]
    return [c for c in inline + lines if c.startswith("chaos ")]


def _parser_of(parser, words: list[str]):
    sub = parser._subparsers._group_actions[0].choices
    verb = words[1] if len(words) > 1 else ""
    if verb not in sub:
        return None, verb
    p = sub[verb]
    if verb in NESTED and len(words) > 2 and p._subparsers:
        nested = p._subparsers._group_actions[0].choices
        return (nested[words[2]], f"{verb} {words[2]}") if words[2] in nested else (None, f"{verb} {words[2]}")
    return p, verb


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = _bash_blocks(readme)
    main_job, tests = blocks[0].strip(), blocks[1].strip()
    assert main_job.startswith("scripts/bootstrap && ")
    assert tests.startswith("scripts/bootstrap && ")
    ci_lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert tests in ci_lines
    assert (ROOT / tests.split("&& ")[-1]).exists()


def test_every_chaos_command_shown_exists_with_its_flags():
    parser = build_parser()
    problems, seen = [], 0
    for page, text in _pages().items():
        for command in _commands(text):
            words = command.split()
            p, verb = _parser_of(parser, words)
            if p is None:
                problems.append(f"{page}: `{command.strip()}`: no verb {verb!r}")
                continue
            seen += 1
            known = {s for a in p._actions for s in a.option_strings}
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", command):
                if flag not in known:
                    problems.append(f"{page}: `{command.strip()}`: chaos {verb} has no {flag}")
    assert seen > 20 and not problems, "\n".join(problems)


def test_every_pytest_option_shown_exists():
    known = {f"--chaos-{o.flag}" for o in options.OPTIONS if o.pytest} | {"--chaos-stack-scope"}
    shown = {flag for text in _pages().values() for flag in re.findall(r"--chaos-[a-z][a-z0-9-]*", text)}
    assert shown and shown <= known, shown - known


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 160, "the reference belongs in docs/"
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / link).exists(), link


def test_the_invariant_table_in_the_docs_is_the_registry():
    from chaos.oracle.invariants import markdown_table

    text = (ROOT / "docs" / "scenarios-and-oracle.md").read_text()
    assert markdown_table() in text, "the invariant table is stale: paste `python -m chaos.oracle.invariants` into the page"


def test_every_source_path_named_outside_the_code_exists():
    """Docs, scripts, compose files and workflows name source files (bootstrap reads a pin from one)."""
    places = [*_pages().items()] + [(str(p.relative_to(ROOT)), p.read_text()) for pattern in
                                    ("scripts/*", "compose/**/*", ".github/**/*", ".ci/*") for p in ROOT.glob(pattern)
                                    if p.is_file() and p.suffix not in (".png", ".gz")]
    named = {(where, p) for where, text in places for p in re.findall(r"\bchaos/[\w/]+\.py\b", text)}
    missing = sorted(f"{where}: {p}" for where, p in named if not (ROOT / p).exists())
    assert named and not missing, missing


def test_scripts_import_what_exists():
    """A `python -c 'from chaos.X import Y'` in a script must name a real module."""
    import importlib.util

    for script in sorted((ROOT / "scripts").iterdir()):
        for module in re.findall(r"from (chaos[\w.]*) import", script.read_text()):
            assert importlib.util.find_spec(module) is not None, f"{script.name}: {module}"
