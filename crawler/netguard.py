"""SSRF guard: refuse hosts that resolve to addresses inside our own network.

A citation list is untrusted input; a URL (or a redirect) pointing at
127.0.0.1, 10.x, 169.254.169.254 (cloud metadata) or a LAN printer must not be
fetched by a CI job. We check twice: the resolved addresses before connecting
(cheap, catches the URL text and plain DNS) and the address the socket actually
reached (`server_addr`, catches DNS answers that change between the two
lookups). The second check runs after the request was sent, so it stops us
from *reading* a private answer, not from sending one GET; documented limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

__all__ = ["check_connected", "forbidden_address", "is_forbidden", "resolve"]


def is_forbidden(ip: str) -> bool:
    """True for loopback, private, link-local, multicast, unspecified or reserved addresses."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return True                      # not an address we understand: refuse
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return (addr.is_loopback or addr.is_private or addr.is_link_local or addr.is_multicast
            or addr.is_unspecified or addr.is_reserved)


async def resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host; raises socket.gaierror."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def forbidden_address(host: str, port: int) -> str | None:
    """The first forbidden address host resolves to, or None when all are public."""
    for ip in await resolve(host, port):
        if is_forbidden(ip):
            return ip
    return None


def check_connected(server_addr: object) -> str | None:
    """The forbidden address the connection reached, or None (also when unknown)."""
    if isinstance(server_addr, tuple) and server_addr and isinstance(server_addr[0], str):
        return server_addr[0] if is_forbidden(server_addr[0]) else None
    return None
