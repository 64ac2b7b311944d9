"""A mutant gateway's environment: a throw-away copy of a LiteLLM virtualenv (hard links, so it
costs no space and the original is never touched) with the mutant's import hook added: a .pth
file that imports litellm_chaos_mutant at interpreter start, the hook module, and its patch list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

from chaos.errors import EnvironmentBuildError, UsageError
from chaos.litellm.env import MUTANT_MARKER, LiteLLMEnv, env_from_venv
from chaos.mutants.catalog import Mutant

HOOK = Path(__file__).with_name("hook.py")
MIN_VERSION = (1, 106)  # the hook patches 1.106+ internals (a failed model read returns None there)


def supports(version: str) -> bool:
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    return parts >= MIN_VERSION


def build_mutant_env(base: LiteLLMEnv, mutant: Mutant, dest: Path) -> LiteLLMEnv:
    """Copy `base` to `dest` and install `mutant` there; returns the new environment."""
    if not supports(base.version):
        raise UsageError(f"mutants patch LiteLLM >= {'.'.join(map(str, MIN_VERSION))} internals; LiteLLM {base.version} "
                         f"({base.root}) is older: pick a newer one with --litellm")
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _copy_tree(base.root, dest)
    _retarget_scripts(base.root, dest)
    (dest / ".chaos-env.json").unlink(missing_ok=True)  # the cache's stamp belongs to the original
    site = _site_packages(dest)
    shutil.copyfile(HOOK, site / "litellm_chaos_mutant.py")
    (site / "litellm_chaos_mutant.json").write_text(json.dumps({"name": mutant.name, "patches": list(mutant.patches)}))
    (site / "litellm_chaos_mutant.pth").write_text("import litellm_chaos_mutant\n")
    (dest / MUTANT_MARKER).write_text(json.dumps(asdict(mutant) | {"base": str(base.root), "base_version": base.version}, indent=2))
    return env_from_venv(dest)


def _copy_tree(src: Path, dest: Path) -> None:
    """Hard links where the filesystem allows (fast, no space), a plain copy otherwise. New files
    added to the copy, and files Python rewrites (it replaces .pyc files, never edits them), stay
    in the copy."""
    out = subprocess.run(["cp", "-al", str(src), str(dest)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        try:
            shutil.copytree(src, dest, symlinks=True)
        except OSError as exc:
            raise EnvironmentBuildError(f"could not copy {src} to {dest}: {exc}") from None


def _retarget_scripts(src: Path, dest: Path) -> None:
    """Console scripts name their interpreter by absolute path: point the copy's at the copy."""
    old, new = f"#!{src}/bin/".encode(), f"#!{dest}/bin/".encode()
    for script in (dest / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        if data.startswith(old):
            mode = script.stat().st_mode
            script.unlink()  # break the hard link before writing
            script.write_bytes(new + data[len(old):])
            os.chmod(script, mode)


def _site_packages(root: Path) -> Path:
    found = sorted(root.glob("lib/python*/site-packages"))
    if not found:
        raise EnvironmentBuildError(f"no site-packages under {root}/lib")
    return found[0]
