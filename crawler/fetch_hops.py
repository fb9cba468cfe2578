"""One fetch attempt: a redirect chain followed by hand, every hop checked.

Each hop goes through its own host's gate (a redirect to another host waits
for *that* host's turn), is refused before any request when its scheme,
address or robots.txt forbids it, and spends from one network-time budget
(total_timeout) so a server that trickles bytes still ends on time. Time spent
waiting in a gate is politeness, not the server's slowness, so it is not
charged to the budget.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

import httpx

from crawler import netguard
from crawler.cache import Entry
from crawler.fetch_body import read_capped
from crawler.hosts import HostGate
from crawler.model import Fetched, Hop, Status
from crawler.robots import ROBOTS_MAX_BYTES

if TYPE_CHECKING:
    from crawler.fetch import Fetcher

__all__ = ["REDIRECT_CODES", "Chain", "parse_retry_after"]

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
REDIRECT_BODY_MAX = 64 * 1024       # read (and drop) so the connection can be reused
RETRY_AFTER_CODES = frozenset({429, 503})


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _fetchable(parts: SplitResult) -> bool:
    """http(s) with a host and a valid port; anything else is invalid_url, not an error."""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return False
    if any(c.isspace() or c in '<>"{}|\\^`' for c in parts.hostname):
        return False
    try:
        return parts.port is None or parts.port > 0
    except ValueError:                     # out of range or not a number
        return False


class Chain:
    """State of one attempt: the URL asked for, the hop we are at, what we have seen."""

    def __init__(self, fetcher: Fetcher, url: str, for_robots: bool = False):
        self.f = fetcher
        self.cfg = fetcher.config
        self.url = url
        self.current = url
        self.for_robots = for_robots
        self.hops: list[Hop] = []
        self.status_seen = 0            # last HTTP status received (304 stays 304 here)
        self.touched_network = False    # False: refused from what we knew (robots, URL text)
        self.remote = ""
        self.budget = self.cfg.total_timeout

    @property
    def network_ms(self) -> int:
        """Time spent on the wire for this attempt (gate waits are politeness, not latency)."""
        return int((self.cfg.total_timeout - self.budget) * 1000)

    def failed(self, status: Status, detail: str, retry_after: float | None = None) -> Fetched:
        return Fetched(self.url, final_url=self.current, hops=tuple(self.hops), outcome=status,
                       error=detail, remote_addr=self.remote, retry_after=retry_after)

    async def run(self) -> Fetched:
        seen: set[str] = set()
        for _ in range(self.cfg.max_redirects + 1):
            if self.current in seen:
                return self.failed(Status.REDIRECT_LOOP, f"redirect loop back to {self.current}")
            seen.add(self.current)
            refusal = await self._refusal(self.current)
            if refusal is not None:
                return refusal
            result, location = await self._hop(self.current)
            if location is None:
                return result
            self.hops.append(Hop(self.current, result.status_code))
            self.current = location
        return self.failed(Status.REDIRECT_LOOP, f"more than {self.cfg.max_redirects} redirects")

    async def _refusal(self, url: str) -> Fetched | None:
        """Why this hop must not be requested, or None. Checks cheapest first."""
        parts = urlsplit(url)
        if not _fetchable(parts):
            return self.failed(Status.INVALID_URL, f"not an http(s) URL: {url[:200]}")
        assert self.f.gates is not None and self.f.robots is not None
        gate = self.f.gates[url]
        if gate.blocked_for() > 0:
            return self.failed(Status.BLOCKED, f"{gate.key} asked us to stay away",
                               retry_after=round(gate.blocked_for(), 1))
        if not self.cfg.allow_private:
            refusal = await self._address_refusal(parts.hostname or "", parts.port,
                                                  parts.scheme.lower())
            if refusal is not None:
                return refusal
        if self.cfg.respect_robots and not self.for_robots:
            return await self._robots_refusal(url, gate)
        return None

    async def _address_refusal(self, host: str, port: int | None, scheme: str) -> Fetched | None:
        """private_address when host resolves into our own network; the lookup is bounded."""
        self.touched_network = True
        try:
            async with asyncio.timeout(self.cfg.connect_timeout):   # resolvers can hang
                bad = await netguard.forbidden_address(host, port or (443 if scheme == "https"
                                                                      else 80))
        except TimeoutError:
            return self.failed(Status.DNS_ERROR, f"resolving {host} timed out")
        if bad:
            return self.failed(Status.PRIVATE_ADDRESS, f"{host} resolves to {bad}")
        return None

    async def _robots_refusal(self, url: str, gate: HostGate) -> Fetched | None:
        assert self.f.robots is not None
        policy = await self.f.robots.policy(url)
        delay = policy.crawl_delay(self.f.token)
        if delay:
            gate.raise_interval(delay)
        if policy.allows(url, self.f.token):
            return None
        if policy.failure is not None:
            return self.failed(policy.failure, policy.reason)
        return self.failed(Status.ROBOTS_DISALLOWED, f"{policy.reason} disallows {url[:200]}")

    async def _hop(self, url: str) -> tuple[Fetched, str | None]:
        """One request through the host's gate; (result, redirect target or None)."""
        assert self.f.gates is not None
        cached: tuple[Entry, bytes] | None = None
        headers: dict[str, str] = {}
        if self.f.cache is not None and not self.for_robots:
            cached = self.f.cache.lookup(url)
            if cached is not None and not self.cfg.refresh:
                headers = cached[0].conditional_headers()
        self.touched_network = True
        async with self.f.gates.slot(url) as gate:
            t0 = time.monotonic()
            try:
                async with asyncio.timeout(max(self.budget, 0.0)):
                    async with self.f.client.stream("GET", url, headers=headers) as resp:
                        gate.mark_seen()
                        return await self._answer(url, resp, gate, cached)
            except BaseException:
                gate.mark_seen()
                raise
            finally:
                self.budget -= time.monotonic() - t0

    async def _answer(self, url: str, resp: httpx.Response, gate: HostGate,
                      cached: tuple[Entry, bytes] | None) -> tuple[Fetched, str | None]:
        """Turn one response into (result, redirect target or None); reads the capped body."""
        code = self.status_seen = resp.status_code
        stream = resp.extensions.get("network_stream")
        addr = stream.get_extra_info("server_addr") if stream is not None else None
        self.remote = addr[0] if isinstance(addr, tuple) and addr else ""
        if not self.cfg.allow_private and netguard.check_connected(addr):
            return self.failed(Status.PRIVATE_ADDRESS, f"connected to {self.remote}"), None
        headers = {k.lower(): v for k, v in resp.headers.items()}
        base = Fetched(self.url, final_url=url, status_code=code, hops=tuple(self.hops),
                       headers=headers, remote_addr=self.remote)
        if code in REDIRECT_CODES and headers.get("location"):
            await read_capped(resp, REDIRECT_BODY_MAX)
            return base, str(resp.url.join(headers["location"]))
        if code == 304 and cached is not None:      # presented as the cached 200
            entry, body = cached
            return replace(base, status_code=200, headers=entry.headers, body=body,
                           from_cache=True), None
        return await self._final(url, resp, base, gate), None

    async def _final(self, url: str, resp: httpx.Response, base: Fetched,
                     gate: HostGate) -> Fetched:
        retry_after = self._retry_after(base.status_code, base.headers, gate)
        cap = min(self.cfg.max_bytes, ROBOTS_MAX_BYTES) if self.for_robots else self.cfg.max_bytes
        body, truncated = await read_capped(resp, cap)
        if (base.status_code == 200 and not truncated and self.f.cache is not None
                and not self.for_robots):
            self.f.cache.store(url, base.headers, body)
        result = replace(base, body=body, truncated=truncated, retry_after=retry_after)
        if retry_after is not None and retry_after > self.cfg.retry_after_cap:
            return replace(result, outcome=Status.BLOCKED,
                           error=f"Retry-After {retry_after:.0f} s is over the cap")
        return result

    def _retry_after(self, code: int, headers: dict[str, str], gate: HostGate) -> float | None:
        """Obey Retry-After: pause the whole host, or block it when beyond the cap."""
        if code not in RETRY_AFTER_CODES:
            return None
        seconds = parse_retry_after(headers.get("retry-after"))
        if seconds is None:
            return None
        if seconds <= self.cfg.retry_after_cap:
            gate.pause(seconds)
        else:
            gate.block(seconds)
        return seconds
