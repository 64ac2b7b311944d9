"""One cached virtualenv per LiteLLM version, with the matching prisma client generated once.

Dependencies are resolved as of the LiteLLM release (uv's --exclude-newer at the release's
upload time), so an older LiteLLM gets the litellm-proxy-extras, and so the SQL migrations, that
shipped with it, never a newer schema.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from chaos.errors import EnvironmentBuildError, PrerequisiteMissing, UsageError
from chaos.host.paths import cache_dir
from chaos.litellm.releases import (
    Release,
    exclude_newer,
    nearest_installable,
    release_time,
    uv_binary,
    why_not_installable,
)
from chaos.litellm.versions import PRISMA_CLIENT_VERSION, check_litellm_version

STAMP = ".chaos-env.json"
MUTANT_MARKER = ".chaos-mutant.json"  # in a mutant gateway's venv (chaos selftest): which mutant it holds
# LiteLLM's model reload job runs every 30 s unless the version reads this variable (1.106.x does).
RELOAD_INTERVAL_ENV = "PROXY_CONFIG_RELOAD_INTERVAL_SECONDS"
HARD_CODED_RELOAD_INTERVAL_S = 30.0
# Wheels of one release are uploaded within minutes; nothing published later may be resolved.

# Run by the environment's own interpreter: facts about the LiteLLM installed there, without
# importing litellm (slow).
INSPECT_SCRIPT = r"""
import importlib.metadata as md, importlib.util, json, os
def ver(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None
spec = importlib.util.find_spec("litellm")
pkg = list(spec.submodule_search_locations)[0] if spec else None
extras = importlib.util.find_spec("litellm_proxy_extras")
extras_dir = list(extras.submodule_search_locations)[0] if extras else None
prisma = importlib.util.find_spec("prisma")
prisma_dir = list(prisma.submodule_search_locations)[0] if prisma else None
print(json.dumps({
    "litellm": ver("litellm"), "prisma": ver("prisma"), "proxy_extras": ver("litellm-proxy-extras"),
    "litellm_dir": pkg, "extras_dir": extras_dir, "prisma_dir": prisma_dir,
}))
"""


@dataclass(frozen=True)
class LiteLLMEnv:
    """A Python environment with LiteLLM (proxy extras) and a generated prisma client."""

    version: str
    root: Path
    bin_dir: Path
    prisma_client_version: str
    proxy_extras_version: str | None
    schema_path: Path
    migrations_dir: Path
    reload_interval_s: float
    reload_interval_configurable: bool
    origin: str  # "cached" (built by the harness) or "external" (--litellm-venv)
    variant: str | None = None  # a mutant gateway of chaos selftest: "mutant NAME: what it changes"

    @property
    def litellm_bin(self) -> Path:
        return self.bin_dir / "litellm"

    def describe(self) -> dict:
        d = asdict(self)
        return {k: str(v) if isinstance(v, Path) else v for k, v in d.items()}


def prisma_engine_description() -> str:
    """Which Prisma query engine LiteLLM will run: connection-failure details differ between them."""
    binary = os.environ.get("PRISMA_QUERY_ENGINE_BINARY")
    if binary:
        return f"binary named by PRISMA_QUERY_ENGINE_BINARY: {binary}" + (f" ({v})" if (v := _engine_version(binary)) else "")
    return "native (downloaded by prisma generate)"


_engine_versions: dict[str, str | None] = {}


def _engine_version(binary: str) -> str | None:
    """`query-engine 393aa35...` as the binary says it (once per process)."""
    if binary not in _engine_versions:
        try:
            out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
            _engine_versions[binary] = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
        except (OSError, subprocess.SubprocessError):
            _engine_versions[binary] = None
    return _engine_versions[binary]


def venv_path(version: str) -> Path:
    return cache_dir() / "venvs" / f"litellm-{version}-py{sys.version_info.major}{sys.version_info.minor}"


def check_available(version: str) -> None:
    """`version` runs here: its environment is built, or it is a release on the index whose
    dependencies resolve here (one clear line otherwise); builds nothing."""
    check_litellm_version(version)
    if not (venv_path(version) / STAMP).exists():
        check_installable(version, release_time(version))  # release_time: is there such a release at all?


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # progress, not a result: stdout is the commands' answer


def ensure_env(version: str, *, log=_progress) -> LiteLLMEnv:
    """Return the cached environment of `version`, building it first if needed."""
    check_litellm_version(version)
    root = venv_path(version)
    stamp = root / STAMP
    if stamp.exists():
        return _env_from_stamp(json.loads(stamp.read_text()))
    released = release_time(version)  # also: is there such a release at all?
    check_installable(version, released)
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two harnesses building the same version wait for each other
        if stamp.exists():
            return _env_from_stamp(json.loads(stamp.read_text()))
        log(f"building the LiteLLM {version} environment in {root} (once)")
        shutil.rmtree(root, ignore_errors=True)  # a half-built environment from a crash
        try:
            _build(root, version, released)
            env = inspect_env(root / "bin", origin="cached")
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        if env.version != version:
            raise EnvironmentBuildError(f"asked for LiteLLM {version} but {env.version} was installed in {root}")
        stamp.write_text(json.dumps(env.describe() | {"released": released.isoformat()}, indent=2))
        return env


def check_installable(version: str, released: dt.datetime) -> None:
    """A release whose dependencies this machine's package index does not serve: one line naming
    the missing package and the nearest releases that do install (before anything is built)."""
    why = why_not_installable(Release(version, released, prerelease=False))
    if why is None:
        return
    older, newer = nearest_installable(version)
    near = "; ".join(f"{label} release {v} installs" for label, v in (("an older", older), ("a newer", newer)) if v)
    raise PrerequisiteMissing(f"LiteLLM {version} cannot be installed here: {why}; "
                              f"{near or 'no release near it installs either'} (see `chaos env --list --since {version}`)")


def env_from_venv(path: str | os.PathLike) -> LiteLLMEnv:
    """An existing environment (e.g. a patched LiteLLM checkout installed in editable mode)."""
    root = Path(path).expanduser().resolve()
    bin_dir = root / "bin"
    if not (bin_dir / "python").exists():
        raise UsageError(f"--litellm-venv {path}: no virtualenv there (expected {bin_dir}/python)")
    env = inspect_env(bin_dir, origin="external")
    check_litellm_version(env.version)
    marker = root / MUTANT_MARKER
    if marker.is_file():
        try:
            facts = json.loads(marker.read_text())
            env = replace(env, variant=f"mutant {facts['name']}: {facts['change']}")
        except (ValueError, KeyError):
            env = replace(env, variant="mutant (unreadable marker)")
    if not env.litellm_bin.exists():
        raise UsageError(f"--litellm-venv {path}: no `litellm` command in {bin_dir}; install litellm[proxy] there")
    probe = subprocess.run(
        [str(bin_dir / "python"), "-c", "from prisma import Prisma"], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if probe.returncode != 0:
        if "hasn't been generated" in probe.stderr:
            raise UsageError(
                f"--litellm-venv {path}: the prisma client is not generated; run "
                f"`{bin_dir}/prisma generate --schema {env.schema_path}` first"
            )
        raise UsageError(f"--litellm-venv {path}: cannot import the prisma client there: {_last_line(probe.stderr)}")
    return env


def inspect_env(bin_dir: Path, *, origin: str) -> LiteLLMEnv:
    out = subprocess.run([str(bin_dir / "python"), "-c", INSPECT_SCRIPT], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise EnvironmentBuildError(f"cannot inspect the Python environment in {bin_dir.parent}: {_last_line(out.stderr)}")
    facts = json.loads(out.stdout)
    if not facts["litellm"] or not facts["litellm_dir"]:
        raise UsageError(f"no LiteLLM installed in {bin_dir.parent}; install litellm[proxy] there")
    if not facts["extras_dir"]:
        raise UsageError(f"no litellm-proxy-extras in {bin_dir.parent}: it ships the SQL migrations; install litellm[proxy]")
    if not facts["prisma"]:
        raise UsageError(f"no prisma client in {bin_dir.parent}; install prisma=={PRISMA_CLIENT_VERSION}")
    proxy_server = Path(facts["litellm_dir"]) / "proxy" / "proxy_server.py"
    configurable = RELOAD_INTERVAL_ENV in proxy_server.read_text(errors="replace")
    return LiteLLMEnv(
        version=facts["litellm"],
        root=bin_dir.parent,
        bin_dir=bin_dir,
        prisma_client_version=facts["prisma"],
        proxy_extras_version=facts["proxy_extras"],
        schema_path=Path(facts["litellm_dir"]) / "proxy" / "schema.prisma",
        migrations_dir=Path(facts["extras_dir"]) / "migrations",
        reload_interval_s=HARD_CODED_RELOAD_INTERVAL_S,
        reload_interval_configurable=configurable,
        origin=origin,
    )


def _env_from_stamp(d: dict) -> LiteLLMEnv:
    d = {k: v for k, v in d.items() if k in LiteLLMEnv.__dataclass_fields__}
    for key in ("root", "bin_dir", "schema_path", "migrations_dir"):
        d[key] = Path(d[key])
    return LiteLLMEnv(**d)


def _build(root: Path, version: str, released: dt.datetime) -> None:
    cutoff = exclude_newer(released)
    _run([uv_binary(), "venv", "--quiet", "--python", sys.executable, str(root)], "create the virtualenv")
    _run(
        [uv_binary(), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(root / "bin" / "python"), "--exclude-newer", cutoff,
         f"litellm[proxy]=={version}", f"prisma=={PRISMA_CLIENT_VERSION}"],
        f"install litellm[proxy]=={version} (dependencies as of {cutoff})",
    )
    env = inspect_env(root / "bin", origin="cached")
    _run(
        [str(root / "bin" / "prisma"), "generate", "--schema", str(env.schema_path)],
        "generate the prisma client",
        env=os.environ | {"PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"},
    )


def _run(cmd: list[str], what: str, env: dict | None = None, timeout: float = 900) -> None:
    # stdin closed: the Prisma CLI waits on an inherited stdin forever
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(f"could not {what}: no result after {timeout:.0f} s") from None
    if out.returncode != 0:
        raise EnvironmentBuildError(f"could not {what}: {_last_line(out.stderr or out.stdout)}")


def _last_line(text: str) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "(no output)"
