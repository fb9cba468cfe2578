"""One connection pool per host behind a single httpx client, a bounded number kept open.

httpcore's pool scans every connection for every request it places
(`_assign_requests_to_connections`), so one pool of 80+ connections spends
most of a busy run's CPU in that scan (measured: ~70% of client CPU with 10
hosts x 8). Our host gates already bound each host's concurrency, so a small
pool per host (created on first use, sharing one SSL context) does the same
job with a scan over a handful of connections.

The scheduler (fetch_lanes.py) serves hosts in turn, so a host's pool sits
idle between its turns; keeping it open saves a new connection (and TLS
handshake) per turn, but with thousands of hosts the idle sockets would run
into the open-file limit (a soft limit of 1,024 is common). So at most
`max_pools` pools stay open (`pool_cap`: half the soft limit, counted in
sockets, and at most POOLS_PER_SLOT per global slot), and beyond that idle
pools are closed:
  * first, pools of hosts without an open lane (a soft-404 probe after the
    host's lane ended, a fetch() outside any run), oldest first;
  * then pools of hosts whose lane is parked, *most recently used first*. Lanes
    come back in ring order, so the pool used longest ago is the one needed
    next: closing it (LRU) would close every pool just before its reuse once
    hosts outnumber the cap; closing the newest keeps the others warm.
A finished lane's pool is closed at once. A pool with a request in flight
(until its response is closed) is never closed, only later, once idle. Every
request holds a global slot (hosts.py), so with `max_pools` >= concurrency an
idle pool is always there to close and the cap holds exactly.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable

import httpx

from crawler.hosts import host_key

__all__ = ["PerHostTransport", "pool_cap"]

# At most this many open pools per global slot, whatever the fd limit. An idle pool costs
# ~6 KB and one socket; closing one that is needed again costs a new connection (CPU here,
# a handshake for the server): 2,000 hosts x 10 URLs at concurrency 64 took 30 s of client
# CPU with room for 1,024 pools, 23.5 s with room for all 2,000.
POOLS_PER_SLOT = 64
# Seconds an idle connection is kept for reuse (httpx's default: 5). With hosts served in
# turn, a host's next turn comes after every other ready host had one: 7 s with 2,000 hosts
# at ~280 URLs/s, so at 5 s every request opened a new connection. A server that closes an
# idle connection earlier is noticed before reuse (httpcore sees the socket readable at EOF).
KEEPALIVE_EXPIRY = 30.0
FALLBACK_NOFILE = 1024      # where the open-file limit cannot be read (no `resource` module)


def pool_cap(per_host: int, concurrency: int) -> int:
    """Pools to keep open: half the soft open-file limit in sockets, never below concurrency."""
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return max(POOLS_PER_SLOT * concurrency, 1)
    except (ImportError, OSError, ValueError):
        soft = FALLBACK_NOFILE
    by_files = soft // 2 // max(per_host, 1)
    return max(concurrency, min(POOLS_PER_SLOT * concurrency, by_files), 1)


class PerHostTransport(httpx.AsyncBaseTransport):
    """Dispatch each request to its host's own AsyncHTTPTransport; see module docstring."""

    def __init__(self, per_host: int, concurrency: int = 16, max_pools: int | None = None):
        self._limits = httpx.Limits(max_connections=per_host + 2,
                                    max_keepalive_connections=per_host + 2,
                                    keepalive_expiry=KEEPALIVE_EXPIRY)
        self._ssl: ssl.SSLContext | None = None
        self.max_pools = max_pools or pool_cap(per_host, concurrency)
        self.peak = 0                                   # most pools ever open at once
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}
        self._busy: dict[str, int] = {}                 # requests in flight, until response closed
        self._loose: OrderedDict[str, None] = OrderedDict()    # idle, no open lane: oldest first
        self._parked: OrderedDict[str, None] = OrderedDict()   # idle, lane coming back: oldest first
        self._held: set[str] = set()                    # hosts with an open lane
        self._retired: set[str] = set()                 # close as soon as idle
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def open_pools(self) -> int:
        return len(self._pools)

    # -- the lanes' hints ----------------------------------------------------------
    def hold(self, url: str) -> None:
        """url's host has an open lane: its pool is worth keeping between turns."""
        key = host_key(url)
        self._held.add(key)
        self._retired.discard(key)
        if key in self._loose:                          # idle now: move it to the parked
            del self._loose[key]
            self._parked[key] = None

    def unhold(self, url: str) -> None:
        """No lane is coming back to url's host (the pass ended): its pool is loose."""
        key = host_key(url)
        self._held.discard(key)
        if key in self._parked:
            del self._parked[key]
            self._loose[key] = None

    async def release(self, url: str) -> None:
        """url's lane is done: close its pool now if idle, else when its last request ends."""
        key = host_key(url)
        self._held.discard(key)
        if key not in self._pools:
            return
        if key in self._busy:
            self._retired.add(key)
            return
        await self._drop(key).aclose()

    # -- requests ------------------------------------------------------------------
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = host_key(str(request.url))
        pool = self._take(key)
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            self._done(key)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Tracked(response.stream, lambda: self._done(key))
        return response

    def _take(self, key: str) -> httpx.AsyncHTTPTransport:
        """The host's pool, created if needed, marked busy; closes idle pools beyond the cap."""
        pool = self._pools.get(key)
        if pool is None:
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            pool = self._pools[key] = httpx.AsyncHTTPTransport(verify=self._ssl,
                                                              limits=self._limits)
        else:
            self._loose.pop(key, None)
            self._parked.pop(key, None)
        self._busy[key] = self._busy.get(key, 0) + 1
        self._trim()
        self.peak = max(self.peak, len(self._pools))
        return pool

    def _done(self, key: str) -> None:
        """One request to key's host is over (response closed, or failed)."""
        left = self._busy.get(key, 0) - 1
        if left > 0:
            self._busy[key] = left
            return
        self._busy.pop(key, None)
        if key not in self._pools:
            return
        if key in self._retired:
            self._close_later(self._drop(key))
            return
        (self._parked if key in self._held else self._loose)[key] = None
        self._trim()

    def _trim(self) -> None:
        """Close idle pools while more than max_pools are open (see module docstring)."""
        while len(self._pools) > self.max_pools:
            if self._loose:
                key = next(iter(self._loose))
            elif self._parked:
                key = next(reversed(self._parked))
            else:
                return                                  # all busy: they close when idle
            self._close_later(self._drop(key))

    def _drop(self, key: str) -> httpx.AsyncHTTPTransport:
        self._loose.pop(key, None)
        self._parked.pop(key, None)
        self._retired.discard(key)
        return self._pools.pop(key)

    def _close_later(self, pool: httpx.AsyncHTTPTransport) -> None:
        """Close an idle pool without holding up the request that made room."""
        task = asyncio.ensure_future(pool.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        self._busy.clear()
        self._loose.clear()
        self._parked.clear()
        self._held.clear()
        self._retired.clear()
        for pool in pools:
            await pool.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


class _Tracked(httpx.AsyncByteStream):
    """A response body that tells the transport when it is closed (the request is over)."""

    def __init__(self, inner: httpx.AsyncByteStream, on_close: Callable[[], None]):
        self._inner = inner
        self._on_close = on_close
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._open:
                self._open = False
                self._on_close()
