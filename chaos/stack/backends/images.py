"""`chaos images build`: the compose backend's images, built locally without any registry.

For machines with a Docker engine but no registry (air-gapped CI, and the CI here): a Debian
rootfs from debootstrap, `docker import`ed, then PostgreSQL, HAProxy, Toxiproxy (the binaries
this machine compiled at the pinned tag), LiteLLM (pip with the release's dependency cutoff, the
matching prisma client, `prisma generate`) and the fake upstream on top. Each image keeps the
env/entrypoint contract of its official counterpart (compose/images/*/Dockerfile), so
compose/docker-compose.yml is the same with official or local images."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from chaos.errors import ChaosError, PrerequisiteMissing, UsageError
from chaos.host.binaries import DEBOOTSTRAP, TOXIPROXY, TOXIPROXY_CLI, TOXIPROXY_TAG
from chaos.host.docker_env import docker_client, image_exists
from chaos.host.paths import SOURCE_ROOT, cache_dir
from chaos.litellm.releases import exclude_newer, release_time, uv_binary
from chaos.litellm.versions import PRISMA_CLIENT_VERSION, check_litellm_version

IMAGES_DIR = SOURCE_ROOT / "compose" / "images"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("CHAOS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
ROOTFS_IMAGE = f"litellm-chaos/debian:{DEBIAN_SUITE}"
BASE_IMAGE = f"litellm-chaos/base:{DEBIAN_SUITE}"
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")  # Debian's place for a machine's extra CAs
# Prisma's standard env vars; a path among them is copied into the LiteLLM image at the same place
PRISMA_ENV_VARS = (
    "PRISMA_QUERY_ENGINE_BINARY", "PRISMA_QUERY_ENGINE_LIBRARY", "PRISMA_SCHEMA_ENGINE_BINARY",
    "PRISMA_MIGRATION_ENGINE_BINARY", "PRISMA_FMT_BINARY", "PRISMA_HOME_DIR", "PRISMA_BINARY_CACHE_DIR",
    "PRISMA_CLI_QUERY_ENGINE_TYPE", "PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING", "CHECKPOINT_DISABLE",
    "PRISMA_HIDE_UPDATE_MESSAGE",
)


SERVICES = ("postgres", "haproxy", "toxiproxy", "upstream", "litellm")


def local_images(litellm_version: str) -> dict[str, str]:
    """Service -> the locally built image (the tags `chaos images build` gives)."""
    return {
        "postgres": "litellm-chaos/postgres:15",
        "haproxy": "litellm-chaos/haproxy:2.6",
        "toxiproxy": f"litellm-chaos/toxiproxy:{TOXIPROXY_TAG.lstrip('v')}",
        "litellm": f"litellm-chaos/litellm-database:{litellm_version}",
        "upstream": "litellm-chaos/upstream:latest",
    }


class ImageBuildError(ChaosError):
    exit_code = 4


@dataclass
class BuildOptions:
    litellm_versions: list[str]
    extra_ca_certs: list[Path] = field(default_factory=list)  # files or folders of *.crt
    prisma_env: bool = False  # carry this machine's Prisma engine env (and its files) into the LiteLLM image
    extra_paths: list[Path] = field(default_factory=list)  # more files the engine needs, same place in the image
    rebuild: bool = False  # even images that exist already
    only: list[str] = field(default_factory=list)  # these services (and the base) only; empty: all

    def validate(self) -> "BuildOptions":
        for version in self.litellm_versions:
            check_litellm_version(version)
        for path in self.extra_ca_certs + self.extra_paths:
            if not path.exists():
                raise UsageError(f"{path}: no such file or folder")
        unknown = sorted(set(self.only) - set(SERVICES))
        if unknown:
            raise UsageError(f"--only {', '.join(unknown)}: expected some of {', '.join(SERVICES)}")
        if self.prisma_env and not os.environ.get("PRISMA_QUERY_ENGINE_BINARY") and not os.environ.get("PRISMA_QUERY_ENGINE_LIBRARY"):
            raise UsageError("--prisma-env: neither PRISMA_QUERY_ENGINE_BINARY nor PRISMA_QUERY_ENGINE_LIBRARY is set here")
        return self


def default_extra_ca_certs() -> list[Path]:
    return [LOCAL_CA_DIR] if any(LOCAL_CA_DIR.glob("*.crt")) else []


def options_from_environment(litellm_versions: list[str]) -> BuildOptions:
    """What a machine's CI sets once for every build (tests, `chaos images build` without flags):
    CHAOS_IMAGE_PRISMA_ENV=1 (carry the Prisma engine env), CHAOS_IMAGE_EXTRA_PATHS=a:b (more files)."""
    extra = [Path(p) for p in os.environ.get("CHAOS_IMAGE_EXTRA_PATHS", "").split(":") if p]
    return BuildOptions(litellm_versions=list(litellm_versions), extra_ca_certs=default_extra_ca_certs(),
                        prisma_env=os.environ.get("CHAOS_IMAGE_PRISMA_ENV") == "1", extra_paths=extra)


def build_all(options: BuildOptions, log=print) -> dict[str, float]:
    """Build every image that is missing (all with rebuild); returns seconds per image built."""
    options.validate()
    client = docker_client()
    timings: dict[str, float] = {}
    wanted = set(options.only or SERVICES)
    tags = local_images("x")
    services = [("postgres", tags["postgres"], lambda: _build_dir(client, "postgres", tags["postgres"])),
                ("haproxy", tags["haproxy"], lambda: _build_dir(client, "haproxy", tags["haproxy"])),
                ("toxiproxy", tags["toxiproxy"], lambda: _build_toxiproxy(client, tags["toxiproxy"])),
                ("upstream", tags["upstream"], lambda: _build_upstream(client, tags["upstream"]))]
    for version in options.litellm_versions:
        tag = local_images(version)["litellm"]
        services.append(("litellm", tag, lambda v=version, t=tag: _build_litellm(client, v, t, options)))
    steps = [(ROOTFS_IMAGE, _build_rootfs), (BASE_IMAGE, lambda: _build_base(client, options))]
    steps += [(tag, build) for service, tag, build in services if service in wanted]
    for tag, build in steps:
        if image_exists(client, tag) and not options.rebuild:
            log(f"{tag}: present")
            continue
        log(f"{tag}: building")
        t0 = time.monotonic()
        build()
        timings[tag] = round(time.monotonic() - t0, 1)
        log(f"{tag}: built in {timings[tag]} s")
    return timings


# ---------------------------------------------------------------------- steps
def _build_rootfs() -> None:
    debootstrap = str(DEBOOTSTRAP.require())
    if os.geteuid() != 0:
        raise PrerequisiteMissing("debootstrap needs root: run `chaos images build` as root (or with sudo)")
    with tempfile.TemporaryDirectory(prefix="chaos-rootfs-", dir=_work_dir()) as tmp:
        rootfs = Path(tmp) / "rootfs"
        _run([debootstrap, "--variant=minbase", DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR], "debootstrap a Debian base")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        try:
            _run(["docker", "import", "-", ROOTFS_IMAGE], "docker import the Debian base", stdin=tar.stdout)
        finally:
            tar.stdout.close()
            tar.wait()


def _build_base(client, options: BuildOptions) -> None:
    with _context("base") as ctx:
        (ctx / "extra-ca").mkdir()
        for source in options.extra_ca_certs:
            for cert in ([source] if source.is_file() else sorted(source.glob("*.crt"))):
                shutil.copy(cert, ctx / "extra-ca" / (cert.stem + ".crt"))
        _docker_build(client, ctx, BASE_IMAGE, {"ROOTFS_IMAGE": ROOTFS_IMAGE})


def _build_dir(client, name: str, tag: str) -> None:
    with _context(name) as ctx:
        _docker_build(client, ctx, tag, {"BASE_IMAGE": BASE_IMAGE})


def _build_toxiproxy(client, tag: str) -> None:
    with _context("toxiproxy") as ctx:
        shutil.copy(TOXIPROXY.require(), ctx / "toxiproxy-server")
        shutil.copy(TOXIPROXY_CLI.require(), ctx / "toxiproxy-cli")
        _docker_build(client, ctx, tag, {"BASE_IMAGE": BASE_IMAGE})


def _build_upstream(client, tag: str) -> None:
    with _context("upstream") as ctx:
        shutil.copytree(SOURCE_ROOT / "chaos" / "upstream", ctx / "upstream", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(uv_binary(), ctx / "uv")
        _docker_build(client, ctx, tag, {"BASE_IMAGE": BASE_IMAGE})


def _build_litellm(client, version: str, tag: str, options: BuildOptions) -> None:
    with _context("litellm") as ctx:
        shutil.copy(uv_binary(), ctx / "uv")
        files = ctx / "prisma-files"
        files.mkdir()
        env_lines = []
        if options.prisma_env:
            for name in PRISMA_ENV_VARS:
                value = os.environ.get(name)
                if value is None:
                    continue
                env_lines.append(f"{name}={value}")
                if os.path.isabs(value) and os.path.exists(value):
                    # a binary comes with companions (a wrapper and its script): take its folder
                    _copy_into(Path(value) if os.path.isdir(value) else Path(value).parent, files)
            for path in options.extra_paths:
                _copy_into(path, files)
        (ctx / "prisma.env").write_text("".join(line + "\n" for line in env_lines))
        args = {"BASE_IMAGE": BASE_IMAGE, "LITELLM_VERSION": version, "EXCLUDE_NEWER": exclude_newer(release_time(version)),
                "PRISMA_CLIENT_VERSION": PRISMA_CLIENT_VERSION}
        _docker_build(client, ctx, tag, args)


# ---------------------------------------------------------------------- helpers
def _work_dir() -> Path:
    path = cache_dir() / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


class _context:
    """A temporary build context seeded with compose/images/<name>; removed on exit."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> Path:
        self._tmp = tempfile.TemporaryDirectory(prefix=f"chaos-build-{self.name}-", dir=_work_dir())
        ctx = Path(self._tmp.name) / "context"
        shutil.copytree(IMAGES_DIR / self.name, ctx)
        return ctx

    def __exit__(self, *exc) -> None:
        self._tmp.cleanup()


def _copy_into(source: Path, files_root: Path) -> None:
    source = source.resolve()
    target = files_root / source.relative_to("/")
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _docker_build(client, ctx: Path, tag: str, buildargs: dict[str, str]) -> None:
    log_path = _work_dir() / f"build-{tag.replace('/', '_').replace(':', '_')}.log"
    with open(log_path, "w") as log:
        error = None
        for chunk in client.api.build(path=str(ctx), tag=tag, buildargs=buildargs, rm=True, forcerm=True, decode=True,
                                      labels={"io.litellm-chaos.image": "1"}):
            if "stream" in chunk:
                log.write(chunk["stream"])
            if "error" in chunk:
                error = chunk["error"].strip()
                log.write(error + "\n")
    if error:
        raise ImageBuildError(f"building {tag} failed: {error.splitlines()[-1][:300]} (build log: {log_path})")


def _run(cmd: list[str], what: str, stdin=None) -> None:
    log_path = _work_dir() / "build-rootfs.log"
    with open(log_path, "a") as log:
        result = subprocess.run(cmd, stdin=stdin if stdin is not None else subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise ImageBuildError(f"could not {what} ({' '.join(cmd[:2])} exited {result.returncode}; log: {log_path})")
