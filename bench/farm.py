"""A many-host loopback web in ONE asyncio process: `addrs` x `ports` listening sockets.

The fetcher keys politeness by URL netloc, so 127.0.10.1:40001 and
127.0.10.1:40002 are two hosts: 200 addresses x 10 ports serve 2,000 hosts.
bench/fixture_server.py (the fetch benchmark's farm) runs one stream server
per address inside the measuring process; this one is a bare asyncio Protocol
meant to run in its *own* process, so the crawler's RSS and CPU are measured
alone and the server never competes for the crawler's GIL.

Every GET /a/<n> answers a small article whose title is "Article <n> on
<host>" (the bench's registry cites exactly that); /robots.txt and anything
else answer 404. Per host it counts requests and keeps arrival times, and on
SIGTERM/SIGINT writes `{"hosts": {netloc: [t, ...]}, "requests": N}` to the
stats file, for the fairness numbers.

usage: python bench/farm.py --addrs 200 --ports 10 --ready FILE --stats FILE
       (FILE given to --ready receives {"hosts": ["127.0.10.1:40123", ...]} once listening)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections import defaultdict

BODY = ("<!doctype html><html lang=en><head><meta charset=utf-8><title>{title} | Farm"
        "</title><meta property=\"og:title\" content=\"{title}\"><meta property="
        "\"article:published_time\" content=\"2025-01-09T10:00:00+00:00\"></head><body>"
        "<article><h1>{title}</h1><p>{text}</p></article></body></html>")
TEXT = "Loopback farm article text, enough words for a fingerprint. " * 12


def title_for(n: str, netloc: str) -> str:
    return f"Article {n} on {netloc}"


def address(i: int, first: tuple[int, int] = (10, 1)) -> str:
    """The i-th address of the farm: 127.0.10.1, ..., 127.0.10.250, 127.0.11.1, ..."""
    base = first[0] * 250 + first[1] - 1 + i
    return f"127.0.{base // 250}.{base % 250 + 1}"


class _Http(asyncio.Protocol):
    def __init__(self, farm: Farm, netloc: str):
        self.farm, self.netloc = farm, netloc
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:          # bounded: each pass consumes one request
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            path = head.split(b" ", 2)[1].decode("latin-1") if b" " in head else "/"
            self.farm.seen(self.netloc)
            answer = self.farm.answer(path, self.netloc)
            if self.farm.latency:
                asyncio.get_running_loop().call_later(self.farm.latency, self._write, answer)
            else:
                self._write(answer)

    def _write(self, answer: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)


class Farm:
    def __init__(self, addrs: int, ports: int, latency: float = 0.0, first_port: int = 0):
        self.addrs, self.ports, self.latency, self.first_port = addrs, ports, latency, first_port
        self.hosts: list[str] = []
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.requests = 0
        self.t0 = time.monotonic()

    def seen(self, netloc: str) -> None:
        self.requests += 1
        self.arrivals[netloc].append(round(time.monotonic() - self.t0, 4))

    def answer(self, path: str, netloc: str) -> bytes:
        if path.startswith("/a/"):
            title = title_for(path[3:], netloc)
            body = BODY.format(title=title, text=TEXT).encode()
            status = b"200 OK"
        else:
            body, status = b"<html><title>Not Found</title><h1>Not Found</h1></html>", \
                b"404 Not Found"
        return (b"HTTP/1.1 " + status + b"\r\nContent-Type: text/html; charset=utf-8\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for i in range(self.addrs):
            addr = address(i)
            for j in range(self.ports):
                port = self.first_port + j if self.first_port else 0
                holder: dict[str, str] = {}
                server = await loop.create_server(
                    lambda h=holder: _Http(self, h["netloc"]), addr, port, backlog=512)
                netloc = f"{addr}:{server.sockets[0].getsockname()[1]}"
                holder["netloc"] = netloc
                self.hosts.append(netloc)


async def main(args: argparse.Namespace) -> None:
    farm = Farm(args.addrs, args.ports, args.latency)
    await farm.start()
    with open(args.ready, "w") as fh:
        json.dump({"hosts": farm.hosts}, fh)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    if args.stats:
        with open(args.stats, "w") as fh:
            json.dump({"requests": farm.requests, "hosts": farm.arrivals}, fh)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--addrs", type=int, default=200)
    p.add_argument("--ports", type=int, default=10)
    p.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    p.add_argument("--ready", required=True, help="write the host list here when listening")
    p.add_argument("--stats", default="", help="write per-host arrival times here on exit")
    asyncio.run(main(p.parse_args()))
