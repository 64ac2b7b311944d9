"""Finding the external programs the local stack runs, with install hints for `chaos doctor`."""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from chaos.errors import PrerequisiteMissing
from chaos.host.paths import cache_dir

# Toxiproxy has no distro package: the bootstrap builds this tag with `go install`.
TOXIPROXY_TAG = "v2.12.0"


@dataclass(frozen=True)
class Binary:
    name: str
    purpose: str
    install_hint: str
    extra_dirs: tuple[str, ...] = ()

    @property
    def override_var(self) -> str:
        return "CHAOS_" + self.name.upper().replace("-", "_") + "_BIN"

    def find(self) -> Path | None:
        override = os.environ.get(self.override_var)
        if override:
            return Path(override) if os.access(override, os.X_OK) else None
        found = shutil.which(self.name)
        if found:
            return Path(found)
        for pattern in self.extra_dirs:
            for directory in sorted(glob.glob(os.path.expanduser(pattern)), reverse=True):  # newest first
                candidate = Path(directory) / self.name
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    return candidate
        return None

    def require(self) -> Path:
        path = self.find()
        if path is None:
            override = os.environ.get(self.override_var)
            if override:
                raise PrerequisiteMissing(f"`{self.name}` not found at {override} (set by {self.override_var}); fix or unset it")
            raise PrerequisiteMissing(f"`{self.name}` not found ({self.purpose}); {self.install_hint}")
        return path


_PG_DIRS = ("/usr/lib/postgresql/*/bin",)
INITDB = Binary("initdb", "creates the private PostgreSQL cluster", "install it: apt-get install postgresql", _PG_DIRS)
POSTGRES = Binary("postgres", "runs the private PostgreSQL cluster", "install it: apt-get install postgresql", _PG_DIRS)
PSQL = Binary("psql", "applies LiteLLM's SQL migrations (the schema job)", "install it: apt-get install postgresql-client", _PG_DIRS)
HAPROXY = Binary("haproxy", "TCP proxy in front of PostgreSQL", "install it: apt-get install haproxy", ("/usr/sbin",))
TOXIPROXY = Binary(
    "toxiproxy-server",
    "injects network faults on the DB links",
    f"run scripts/bootstrap, or: GOBIN={cache_dir() / 'bin'} go install github.com/Shopify/toxiproxy/v2/cmd/server@{TOXIPROXY_TAG} "
    f"&& mv {cache_dir() / 'bin' / 'server'} {cache_dir() / 'bin' / 'toxiproxy-server'}",
    (str(cache_dir() / "bin"),),
)
TOXIPROXY_CLI = Binary(
    "toxiproxy-cli",
    "goes into the locally built Toxiproxy image (compose backend), as in the official one",
    f"run scripts/bootstrap, or: GOBIN={cache_dir() / 'bin'} go install github.com/Shopify/toxiproxy/v2/cmd/cli@{TOXIPROXY_TAG} "
    f"&& mv {cache_dir() / 'bin' / 'cli'} {cache_dir() / 'bin' / 'toxiproxy-cli'}",
    (str(cache_dir() / "bin"),),
)
NODE = Binary("node", "runs the Prisma CLI (prisma generate)", "install it: apt-get install nodejs (>= 18)")
DOCKER = Binary("docker", "compose backend only (optional)", "install it: apt-get install docker.io")
DEBOOTSTRAP = Binary("debootstrap", "`chaos images build` only (optional): the images' Debian base", "install it: apt-get install debootstrap",
                     ("/usr/sbin",))

LOCAL_STACK_BINARIES = (INITDB, POSTGRES, PSQL, HAPROXY, TOXIPROXY)
ALL_BINARIES = LOCAL_STACK_BINARIES + (NODE, DOCKER, DEBOOTSTRAP, TOXIPROXY_CLI)
