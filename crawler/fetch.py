"""The fetch engine: URL -> Fetched, politely, within hard caps, never raising.

One `httpx.AsyncClient` per `Fetcher` (with one small connection pool per
host behind it, fetch_transport.py). Every request (page, redirect hop,
robots.txt) goes through its host's gate (hosts.py), so per-host limits hold
whichever task asks. One *attempt* is a whole redirect chain followed by hand
(fetch_hops.py: each hop checked for scheme, private address, robots and
loops); tenacity repeats attempts on transient failures; the exception ->
Status table is fetch_errors.py, the only place that knows exception classes.
Scheduling many URLs (a ring of host lanes, the last pass) is fetch_lanes.py.

Choices callers rely on:
  * A 304 answer to our conditional request is presented as the cached 200
    (status_code=200, cached headers and body, from_cache=True); the Attempt
    records 304.
  * 429 after retries are exhausted comes back as an answer (status_code=429,
    outcome=None); verify maps 429 to blocked. A Retry-After beyond the cap
    ends the URL at once (status_code=429, outcome=BLOCKED, retry_after set)
    and blocks the host's other URLs for the run without sending them.
  * robots.txt unreachable (no HTTP answer): the host's URLs are not fetched
    and end with that transport outcome (connection_error, timeout, ...);
    robots.txt 5xx: robots_disallowed.
  * on_attempt sees every attempt, including ones refused before any request
    (robots_disallowed, private_address, invalid_url; status_code 0), but not
    robots.txt fetches. An exception raised by on_attempt is not swallowed.
  * body is always decoded (gzip/deflate undone, capped after decoding);
    headers are the server's, lower-case, so content-encoding may still say gzip.
  * elapsed_ms is time on the wire; waiting for a host's turn is not counted.
  * trust_env=False: no proxies from the environment (the SSRF check looks at
    the address actually connected to, which a proxy would hide).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Self

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_result,
    stop_after_attempt,
    wait_exponential_jitter,
)

from crawler import USER_AGENT
from crawler.cache import Cache
from crawler.fetch_body import ACCEPT_ENCODING
from crawler.fetch_errors import RETRY_STATUS_CODES, classify
from crawler.fetch_hops import Chain
from crawler.fetch_transport import PerHostTransport
from crawler.hosts import HostGates
from crawler.model import Attempt, Fetched, Status, isonow
from crawler.robots import RobotsCache, product_token

__all__ = ["FetchConfig", "Fetcher", "classify", "network_down", "should_retry"]


@dataclass(frozen=True)
class FetchConfig:
    """Every knob of the engine; defaults are the issue's."""

    concurrency: int = 16               # requests in flight across all hosts
    per_host: int = 1                   # requests in flight per host
    delay: float = 1.0                  # minimum seconds between request starts to one host
    user_agent: str = USER_AGENT
    respect_robots: bool = True
    max_retries: int = 3                # attempts after the first, for transient failures
    retry_after_cap: float = 60.0       # longest Retry-After we wait; beyond: blocked
    connect_timeout: float = 10.0
    read_timeout: float = 20.0          # between bytes; a trickle never trips it...
    total_timeout: float = 60.0         # ...so this deadline bounds one attempt's network time
    max_redirects: int = 10
    max_bytes: int = 5_000_000          # body cap, counted after decompression
    allow_private: bool = False         # loopback/private addresses (tests only)
    cache_dir: Path | None = Path("cache")
    refresh: bool = False               # ignore cached validators (still write the cache)
    backoff_base: float = 1.0           # seconds; exponential backoff starts here


def should_retry(result: Fetched, cap: float) -> bool:
    """The retry policy in one predicate: transient transport failures and 429/5xx."""
    if result.outcome is not None:
        return result.outcome.is_transient
    if result.retry_after is not None and result.retry_after > cap:
        return False
    return result.status_code in RETRY_STATUS_CODES


def network_down(results: Iterable[Fetched]) -> bool:
    """True when not a single host answered at connection level (offline, not 'all dead').

    Any HTTP status (even 429 ending BLOCKED) proves a host answered. Results
    that never reached the network (robots, SSRF or URL refusals) say nothing
    either way; no evidence at all is not 'down'. Timeouts count as silence.
    Call it once over the whole run's results, not per result.
    """
    heard = silent = False
    for r in results:
        if r.status_code > 0 or r.from_cache:
            heard = True
        elif r.outcome is not None and (r.outcome.is_network_level or r.outcome is Status.TIMEOUT):
            silent = True
    return silent and not heard


class Fetcher:
    """Async context manager owning the client, host gates, robots cache and disk cache."""

    def __init__(self, config: FetchConfig | None = None,
                 on_attempt: Callable[[Attempt], None] | None = None):
        self.config = config or FetchConfig()
        self.on_attempt = on_attempt
        self._client: httpx.AsyncClient | None = None
        self.gates: HostGates | None = None
        self.robots: RobotsCache | None = None
        self.cache = Cache(self.config.cache_dir) if self.config.cache_dir else None
        self.token = product_token(self.config.user_agent)
        self._transport = PerHostTransport(self.config.per_host, self.config.concurrency)
        self.runners: set[asyncio.Task[None]] = set()     # fetch_all schedulers still running

    async def __aenter__(self) -> Self:
        c = self.config
        timeout = httpx.Timeout(connect=c.connect_timeout, read=c.read_timeout,
                                write=c.read_timeout, pool=None)
        self._client = httpx.AsyncClient(
            timeout=timeout, transport=self._transport, follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": c.user_agent, "Accept-Encoding": ACCEPT_ENCODING})
        self.gates = HostGates(c.concurrency, c.per_host, c.delay)
        self.robots = RobotsCache(self._fetch_robots)
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop any fetch_all the caller left early, then close sockets."""
        for task in list(self.runners):
            task.cancel()
        await asyncio.gather(*self.runners, return_exceptions=True)
        if self.robots:
            self.robots.close()
        if self._client:
            await self._client.aclose()

    # -- one URL --------------------------------------------------------------
    async def fetch(self, url: str, *, retries: int | None = None, first_attempt: int = 1
                    ) -> Fetched:
        """One URL through its host's gate, retries and caps. Never raises.

        An attempt that never touched the network (refused from what this run
        already knows, e.g. robots.txt unreachable) is not retried: the answer
        could not change before the end pass.
        """
        self._require_open()
        tries = self.config.max_retries if retries is None else retries
        counter = iter(range(first_attempt, first_attempt + tries + 1))
        touched = False

        async def attempt() -> Fetched:
            nonlocal touched
            chain = Chain(self, url)
            result = await self._attempt(chain, next(counter))
            touched = chain.touched_network
            return result

        retrying = AsyncRetrying(
            stop=stop_after_attempt(tries + 1), wait=self._wait,
            retry=retry_if_result(
                lambda r: touched and should_retry(r, self.config.retry_after_cap)),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
            reraise=False)
        result: Fetched = await retrying(attempt)
        return result

    def _wait(self, state: RetryCallState) -> float:
        """Seconds before the next attempt: exponential backoff with jitter.

        A Retry-After within the cap already paused the host gate, so no extra
        wait. A 429 without one backs off the whole host, not just this URL:
        rate limits are per site.
        """
        result = state.outcome.result() if state.outcome is not None else None
        if isinstance(result, Fetched) and result.retry_after is not None:
            return 0.0
        base = self.config.backoff_base
        wait = float(wait_exponential_jitter(multiplier=base, max=base * 16, jitter=base)(state))
        if isinstance(result, Fetched) and result.status_code == 429 and self.gates is not None:
            self.gates[result.final_url or result.url].pause(wait)
        return wait

    async def _attempt(self, chain: Chain, number: int) -> Fetched:
        """One attempt = one redirect chain, reported to on_attempt."""
        started = isonow()
        result = await self._run(chain)
        result = replace(result, attempts=number, fetched_at=started,
                         elapsed_ms=chain.network_ms)
        self._report(result, number, started, chain.status_seen)
        return result

    async def _run(self, chain: Chain) -> Fetched:
        """The only broad catch: whatever the chain raised becomes a value via classify()."""
        try:
            return await chain.run()
        except Exception as exc:  # noqa: BLE001 -- errors are values; table: fetch_errors._TABLE
            status, detail = classify(exc)
            return chain.failed(status, detail)

    def _report(self, r: Fetched, number: int, started: str, status_seen: int) -> None:
        if self.on_attempt is None:
            return
        self.on_attempt(Attempt(
            url=r.url, attempt=number, started_at=started, status_code=status_seen,
            final_url=r.final_url, hops=r.hops, bytes=len(r.body), elapsed_ms=r.elapsed_ms,
            outcome=r.outcome, error=r.error, from_cache=r.from_cache))

    async def _fetch_robots(self, url: str) -> Fetched:
        """robots.txt: same gate and caps, no retries, no robots check, not reported."""
        return await self._run(Chain(self, url, for_robots=True))

    # -- many URLs --------------------------------------------------------------
    def fetch_all(self, urls: Iterable[str]) -> AsyncIterator[Fetched]:
        """Each unique URL once, hosts served in turn, yielding results as they finish."""
        from crawler.fetch_lanes import run_lanes
        return run_lanes(self, urls)

    @property
    def pools(self) -> PerHostTransport:
        """The per-host connection pools (the lanes hold and release hosts' pools)."""
        return self._transport

    def _require_open(self) -> None:
        """Using a Fetcher outside `async with` is a programming error: raise, don't hide it."""
        if self._client is None:
            raise RuntimeError("use `async with Fetcher(...)` before fetching")

    @property
    def client(self) -> httpx.AsyncClient:
        self._require_open()
        assert self._client is not None
        return self._client
