"""Ports on 127.0.0.1 for the components of a run."""

from __future__ import annotations

import socket

from chaos.errors import PortInUse

HOST = "127.0.0.1"


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def pick_free_ports(names: list[str], *, exclude: set[int]) -> dict[str, int]:
    """Ask the kernel for distinct free ports, skipping those other live runs have reserved.
    All sockets stay bound until every port is picked, so the kernel never hands out one twice."""
    held: list[socket.socket] = []
    ports: dict[str, int] = {}
    try:
        while len(ports) < len(names):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            held.append(sock)
            port = sock.getsockname()[1]
            if port not in exclude:
                ports[names[len(ports)]] = port
    finally:
        for sock in held:
            sock.close()
    return ports


def ports_from_base(names: list[str], base: int) -> dict[str, int]:
    """Consecutive ports from `base`; PortInUse names the first one that is taken."""
    if not 1024 <= base <= 65535 - len(names):
        raise PortInUse(f"--base-port {base} is out of range; expected 1024..{65535 - len(names)}")
    ports = {name: base + i for i, name in enumerate(names)}
    for name, port in ports.items():
        if not is_free(port):
            raise PortInUse(f"port {port} on {HOST} is already in use (wanted for {name}); choose another --base-port or omit it")
    return ports
