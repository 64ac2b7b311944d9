"""`chaos doctor`: are the prerequisites here? Says exactly what is missing and how to install it."""

from __future__ import annotations

import os
import subprocess

from chaos.errors import PrerequisiteMissing
from chaos.host.binaries import ALL_BINARIES, DEBOOTSTRAP, DOCKER, NODE, TOXIPROXY_CLI
from chaos.litellm.env import prisma_engine_description


def _node_major(path) -> int | None:
    try:
        out = subprocess.run([str(path), "-p", "process.versions.node.split('.')[0]"], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, timeout=10)
        return int(out.stdout.strip())
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def checks() -> list[tuple[bool, bool, str]]:
    """(ok, required, line) per prerequisite."""
    results = []
    for binary in ALL_BINARIES:
        required = binary not in (DOCKER, DEBOOTSTRAP, TOXIPROXY_CLI)  # compose backend only
        try:
            path = binary.require()
        except PrerequisiteMissing as missing:
            results.append((False, required, f"{binary.name}: {missing}"))
            continue
        if binary is NODE and (_node_major(path) or 0) < 18:
            results.append((False, True, f"node: {path} is older than 18; Prisma needs node >= 18: apt-get install nodejs"))
        else:
            results.append((True, required, f"{binary.name}: {path}"))
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
            results.append((True, True, "postgres user: present (PostgreSQL runs as it, since we are root)"))
        except KeyError:
            results.append((False, True, "postgres user: missing; as root PostgreSQL needs it: apt-get install postgresql"))
    results.append(prisma_engine_check())
    results += compose_checks()
    return results


def prisma_engine_check() -> tuple[bool, bool, str]:
    """The engine LiteLLM's Prisma client will run. Unset: the native one, downloaded on first use
    (an offline machine then fails every start with "Not connected to the query engine")."""
    binary = os.environ.get("PRISMA_QUERY_ENGINE_BINARY")
    if binary and not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        return False, True, f"Prisma query engine: PRISMA_QUERY_ENGINE_BINARY={binary} is not an executable file; fix or unset it"
    if binary:
        return True, True, f"Prisma query engine: {prisma_engine_description()}"
    return False, False, ("Prisma query engine: native, downloaded by prisma on first use (binaries.prisma.sh); offline, "
                          "set PRISMA_QUERY_ENGINE_BINARY to an engine, or LiteLLM fails with 'Not connected to the query engine'")


def compose_checks() -> list[tuple[bool, bool, str]]:
    """The compose backend's prerequisites: optional (the local backend needs none of them)."""
    from chaos.host.docker_env import DockerUnavailable, compose_cli, docker_client

    results = []
    try:
        compose_cli()
        results.append((True, False, "docker compose: available (compose backend)"))
    except PrerequisiteMissing as missing:
        results.append((False, False, f"docker compose: {missing}"))
    try:
        docker_client()
        results.append((True, False, "Docker engine: reachable (compose backend)"))
    except DockerUnavailable as exc:
        results.append((False, False, f"Docker engine: {exc}"))
    return results


def run() -> int:
    failed = 0
    for ok, required, line in checks():
        mark = "ok  " if ok else ("FAIL" if required else "warn")
        print(f"{mark} {line}")
        failed += (not ok) and required
    print("all prerequisites present" if not failed else f"{failed} prerequisite(s) missing")
    return 0 if not failed else 3
