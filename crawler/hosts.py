"""Per-host politeness: one gate per host, whatever task is asking.

A `HostGate` enforces, for one host (scheme://host:port):
  * at most `per_host` requests in flight;
  * a minimum interval between request *starts* (the run's delay, raised by
    robots.txt Crawl-delay, never lowered), counted from the later of our
    start and the moment we know the server saw the request (its response
    headers, or the failure), so the gaps the *server* observes are never
    shorter, whatever connection set-up or event-loop latency delayed a send;
  * a pause until a time the server asked for (Retry-After), which holds every
    later request to that host but no other host's;
  * a block: Retry-After beyond our cap ends the host's URLs for this run.
The global limit is a semaphore shared by all gates, taken *after* the host's
turn comes, so a waiting host never sits on a global slot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

__all__ = ["CRAWL_DELAY_CAP", "HostGate", "HostGates", "host_key"]

CRAWL_DELAY_CAP = 30.0      # seconds; a robots.txt Crawl-delay above this is read as this


def host_key(url: str) -> str:
    """scheme://host:port, lower-case: the unit of politeness (and of robots.txt)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    host = (parts.hostname or "").lower()
    if ":" in host:                       # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


class HostGate:
    """Limits for one host; see module docstring."""

    def __init__(self, key: str, per_host: int, interval: float):
        self.key = key
        self.interval = interval
        self._slots = asyncio.Semaphore(per_host)
        self._turn = asyncio.Lock()
        self._last_start = float("-inf")
        self._paused_until = 0.0
        self.blocked_until = 0.0

    def raise_interval(self, seconds: float) -> None:
        """Crawl-delay can slow a host down, never speed it up past the run's delay."""
        self.interval = max(self.interval, min(seconds, CRAWL_DELAY_CAP))

    def mark_seen(self) -> None:
        """The server has seen our request by now: count the interval from here."""
        self._last_start = max(self._last_start, time.monotonic())

    def pause(self, seconds: float) -> None:
        """Hold every later request to this host for `seconds` (Retry-After)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def block(self, seconds: float) -> None:
        self.blocked_until = max(self.blocked_until, time.monotonic() + seconds)

    def blocked_for(self) -> float:
        """Seconds this host remains blocked, 0 when it is not."""
        return max(0.0, self.blocked_until - time.monotonic())

    @asynccontextmanager
    async def slot(self, global_slots: asyncio.Semaphore) -> AsyncIterator[None]:
        """Hold one of the host's slots and one global slot for one request."""
        async with self._slots:
            async with self._turn:
                await self._wait_turn()
                await global_slots.acquire()
                self._last_start = time.monotonic()
            try:
                yield
            finally:
                global_slots.release()

    def ready_at(self) -> float:
        """When the next request may start (time.monotonic()): its interval and any pause.

        A scheduler reads it to set a waiting host aside instead of holding a worker on
        it; only slot() lets a request through, so a stale reading cannot break a limit.
        """
        return max(self._last_start + self.interval, self._paused_until)

    async def _wait_turn(self) -> None:
        # Bounded: each pass sleeps until a time that only moves when a server
        # answers with Retry-After, itself capped by the caller.
        while True:
            wait = self.ready_at() - time.monotonic()
            if wait <= 0:
                return
            await asyncio.sleep(wait)


class HostGates:
    """The run's gates by host key, created on first use, sharing one global limit."""

    def __init__(self, concurrency: int, per_host: int, interval: float):
        self.global_slots = asyncio.Semaphore(concurrency)
        self._per_host = per_host
        self._interval = interval
        self._gates: dict[str, HostGate] = {}

    def __getitem__(self, url: str) -> HostGate:
        key = host_key(url)
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = HostGate(key, self._per_host, self._interval)
        return gate

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[HostGate]:
        gate = self[url]
        async with gate.slot(self.global_slots):
            yield gate
