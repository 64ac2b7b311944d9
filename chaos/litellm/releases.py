"""LiteLLM releases on the package index, and which of them install here.

A release installs when uv can resolve `litellm[proxy]==V` and the pinned prisma client against
this machine's package index with dependencies as of the release (the env build's own cutoff, so
the answer is what `chaos env` would do). Machines differ (a mirror may lag the public index), so
nothing here is hard-coded: `chaos env --list` asks the index, and a release that does not install
says which package is missing and which nearby releases do."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from chaos.errors import EnvironmentBuildError, UsageError
from chaos.litellm.versions import COMPROMISED_LITELLM_VERSIONS, PRISMA_CLIENT_VERSION

# a release's own files may be uploaded a while after its first one: uv resolves up to this after it
RELEASE_UPLOAD_MARGIN = dt.timedelta(minutes=30)

_FINAL = re.compile(r"^\d+\.\d+\.\d+(\.post\d+)?$")
_WHY = (re.compile(r"there is no version of (\S+)"), re.compile(r"(\S+) was not found in the package registry"))


@dataclass(frozen=True)
class Release:
    version: str
    released: dt.datetime
    prerelease: bool

    @property
    def key(self) -> tuple:
        return version_key(self.version)


def version_key(version: str) -> tuple:
    return tuple(int(x) for x in re.findall(r"\d+", version))


def releases() -> list[Release]:
    """Every LiteLLM release on the index, oldest first."""
    times: dict[str, dt.datetime] = {}
    for f in litellm_index_files():
        m = re.match(r"litellm-([^-]+?)(?:-py3|\.tar\.gz|-py2)", f["filename"])
        if m and f.get("upload-time"):
            t = dt.datetime.fromisoformat(f["upload-time"].replace("Z", "+00:00"))
            times[m[1]] = max(times.get(m[1], t), t)
    return sorted((Release(v, t, not _FINAL.match(v)) for v, t in times.items()), key=lambda r: r.key)


def why_not_installable(release: Release) -> str | None:
    """None when the release resolves here, else the missing package in one line."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.write(f"litellm[proxy]=={release.version}\nprisma=={PRISMA_CLIENT_VERSION}\n")
    try:
        out = subprocess.run([uv_binary(), "pip", "compile", "--python-version", f"{sys.version_info.major}.{sys.version_info.minor}",
                              "--no-header", "-q", req.name, "-o", "/dev/null", "--exclude-newer", exclude_newer(release.released)],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=180)
    finally:
        Path(req.name).unlink(missing_ok=True)
    if out.returncode == 0:
        return None
    for pattern in _WHY:
        m = pattern.search(out.stderr)
        if m:
            return f"{m[1].rstrip(',')} is not on this package index ({index_url()})"
    lines = [ln.strip() for ln in out.stderr.splitlines() if ln.strip()]
    return lines[-1] if lines else f"uv pip compile failed ({out.returncode})"


def status(release: Release) -> tuple[str, str]:
    """(installable | denylisted | not installable | pre-release, why)."""
    if release.version in COMPROMISED_LITELLM_VERSIONS:
        return "denylisted", "reported compromised; never installed"
    why = why_not_installable(release)
    return ("installable", "") if why is None else ("not installable", why)


def table(since: str | None = None, include_prereleases: bool = False) -> list[tuple[Release, str, str]]:
    """(release, status, why) for the releases from `since` on, resolved in parallel."""
    picked = [r for r in releases() if (include_prereleases or not r.prerelease)
              and (since is None or r.key >= version_key(since))]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(status, picked))
    return [(r, s, why) for r, (s, why) in zip(picked, statuses)]


def nearest_installable(version: str, *, tries: int = 4) -> tuple[str | None, str | None]:
    """(the nearest older release that installs, the nearest newer one), checking up to `tries`
    final releases each way."""
    finals = [r for r in releases() if not r.prerelease and r.version not in COMPROMISED_LITELLM_VERSIONS]
    older = [r for r in finals if r.key < version_key(version)][::-1][:tries]
    newer = [r for r in finals if r.key > version_key(version)][:tries]

    def first(candidates):
        return next((r.version for r in candidates if why_not_installable(r) is None), None)

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(first, (older, newer))
    return a, b


def index_url() -> str:
    return (os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple").rstrip("/")


_index_files: dict[str, list[dict]] = {}  # per index URL: read once per process (a pytest session, a bisect)


def litellm_index_files() -> list[dict]:
    """The files of every LiteLLM release on the package index (PEP 691 JSON)."""
    url = f"{index_url()}/litellm/"
    if url not in _index_files:
        try:
            resp = httpx.get(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=60, follow_redirects=True)
            resp.raise_for_status()
            _index_files[url] = resp.json()["files"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise EnvironmentBuildError(f"cannot read the LiteLLM release list from {url}: {exc}") from None
    return _index_files[url]


def release_time(version: str) -> dt.datetime:
    """Upload time of the last file of litellm==version on the package index."""
    times = [
        f["upload-time"]
        for f in litellm_index_files()
        if f.get("upload-time") and (f["filename"].startswith(f"litellm-{version}-") or f["filename"] == f"litellm-{version}.tar.gz")
    ]
    if not times:
        raise UsageError(f"--litellm {version}: no such release on the package index {index_url()}; pick a released "
                         f"version (`chaos env --list` shows them)")
    return max(dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times)


def exclude_newer(released: dt.datetime) -> str:
    """uv's --exclude-newer for a LiteLLM release: its upload time plus a margin for its own files."""
    return (released + RELEASE_UPLOAD_MARGIN).strftime("%Y-%m-%dT%H:%M:%SZ")


def uv_binary() -> str:
    candidate = Path(sys.executable).parent / "uv"
    found = str(candidate) if candidate.exists() else shutil.which("uv")
    if not found:
        raise EnvironmentBuildError("uv is not installed; `pip install uv` (it builds the LiteLLM environments)")
    return found
