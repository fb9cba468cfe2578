"""A fast loopback fixture web for benchmarks: one asyncio HTTP/1.1 server per host.

tests/server.py (a thread per request) is made for correctness tests; here we
need thousands of requests a second with a fixed latency, so a minimal asyncio
server answers every GET with a small page after `latency` seconds, keeps the
connection alive, answers /robots.txt with 404, and logs monotonic arrival
times per host for the politeness check.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict

PAGE = (b"<!doctype html><html><head><title>Page %s</title></head>"
        b"<body><h1>Page %s</h1><p>" + b"lorem ipsum " * 40 + b"</p></body></html>")


class Farm:
    """`hosts` servers on 127.0.0.{first}.. in one background event loop."""

    def __init__(self, hosts: int = 10, latency: float = 0.02, first: int = 100):
        self.latency = latency
        self.addrs = [f"127.0.0.{first + i}" for i in range(hosts)]
        self.ports: dict[str, int] = {}
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def base(self, i: int) -> str:
        addr = self.addrs[i]
        return f"http://{addr}:{self.ports[addr]}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        for addr in self.addrs:
            server = await asyncio.start_server(
                lambda r, w, a=addr: self._serve(a, r, w), addr, 0, backlog=1024)
            self.ports[addr] = server.sockets[0].getsockname()[1]

    async def _serve(self, addr: str, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.arrivals[addr].append(time.monotonic())
                path = head.split(b" ", 2)[1]
                await asyncio.sleep(self.latency)
                writer.write(_answer(path))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def reset(self) -> None:
        self._loop.call_soon_threadsafe(self.arrivals.clear)
        time.sleep(0.05)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def _answer(path: bytes) -> bytes:
    if path == b"/robots.txt":
        body, status = b"not found", b"404 Not Found"
    else:
        body, status = PAGE % (path, path), b"200 OK"
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
