"""Scheduling many URLs: a ring of host lanes served in turn by a bounded pool of workers.

A lane is one host's queue (scheme://host:port). A worker takes the lane at the
front of the ring, takes one of its URLs, and puts the lane back at the end of
the ring while URLs remain, at once if the host may have another request in
flight (up to `per_host` turns of one lane run at once, each on its own worker:
a slow answer never holds up the host's other requests), else when its turn
ends. Each request goes through the host's gate, which enforces the per-host
and global limits, the interval and Retry-After pauses. Why a ring
rather than one lane per host walked to its end:
  * fairness. However many hosts there are, every host gets its k-th turn
    before any host gets its (k+1)-th, unless its own gate holds it back (a
    slower Crawl-delay, a Retry-After pause). Lanes walked to their end, with a
    cap on open lanes, served thousands of hosts in waves: a run stopped
    halfway had checked half the hosts fully and the other half not at all.
  * wall time under a per-host delay. A lane whose host must wait (its
    interval, a Retry-After pause) is parked aside until its gate would let it
    go, instead of holding a worker, so workers serve hosts that are ready and
    the run approaches the busiest host's queue times its interval rather than
    one wave after another. robots.txt takes a turn of its own for the same
    reason: the first page then waits out the interval parked. The ready time
    is only a hint; the gate still decides. (A URL's own retries still wait
    inside its turn.)
  * tasks. min(LANES_PER_SLOT x concurrency, lanes) workers, whatever the
    number of hosts: 100,000 single-URL hosts are 100,000 small lane objects,
    not 100,000 waiting tasks. Several workers per global slot, so workers
    waiting on a slow server or a retry backoff never starve the global limit.
Connections: a parked host keeps its connection pool, within a cap on open
pools (fetch_transport.py); a finished lane's pool is closed. URLs that end in
a transient failure are held back and tried once more after every lane is
done, when a flaky server or a short network blip may have passed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from crawler.hosts import host_key
from crawler.model import Fetched

if TYPE_CHECKING:
    from crawler.fetch import Fetcher

__all__ = ["run_lanes"]

Emit = Callable[[Fetched], Awaitable[None]]
LANES_PER_SLOT = 16       # workers (lanes in hand) per global slot; see the module docstring


async def run_lanes(fetcher: Fetcher, urls: Iterable[str]) -> AsyncIterator[Fetched]:
    """Yield one Fetched per unique URL, as each finishes."""
    unique = list(dict.fromkeys(urls))
    # bounded: a slow consumer pushes back on the lanes instead of piling up pages in memory
    out: asyncio.Queue[Fetched | None] = asyncio.Queue(maxsize=2 * fetcher.config.concurrency)
    runner = asyncio.ensure_future(_run(fetcher, unique, out))
    fetcher.runners.add(runner)               # so leaving `async with Fetcher` stops it
    runner.add_done_callback(fetcher.runners.discard)
    try:
        for _ in range(len(unique) + 1):     # bounded: one item per URL, then the end mark
            item = await out.get()
            if item is None:
                break
            yield item
        await runner                          # re-raise a bug in the scheduler, if any
    finally:
        if not runner.done():
            runner.cancel()
            try:
                await runner
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise                     # we are being cancelled too: say so


async def _run(fetcher: Fetcher, urls: list[str], out: asyncio.Queue[Fetched | None]) -> None:
    from crawler.fetch import should_retry
    cap = fetcher.config.retry_after_cap
    held: list[tuple[str, int]] = []          # (url, attempts made): not the pages themselves

    async def first_pass(r: Fetched) -> None:
        if should_retry(r, cap):
            held.append((r.url, r.attempts))
        else:
            await out.put(r)

    try:
        await _pass(fetcher, [(u, 0) for u in urls], first_pass)
        if held:
            assert fetcher.robots is not None
            fetcher.robots.forget_failures()
            await _pass(fetcher, held, out.put, retries=0)
    except asyncio.CancelledError:
        raise                   # whoever cancelled us has stopped reading `out`: no end mark
    except BaseException:
        while not out.empty():  # a bug: wake the reader (it re-raises this when it awaits us)
            out.get_nowait()
        out.put_nowait(None)
        raise
    await out.put(None)


class _Lane:
    """One host's URLs (url, attempts already made), how far its turns got, and who has it."""

    __slots__ = ("busy", "key", "next", "queued", "released", "robots_first", "timer", "urls")

    def __init__(self, key: str, robots_first: bool):
        self.key = key
        self.urls: list[tuple[str, int]] = []
        self.next = 0
        self.robots_first = robots_first
        self.timer: asyncio.TimerHandle | None = None
        self.busy = 0                          # turns in flight (at most per_host)
        self.queued = False                    # in the ring or parked: at most once
        self.released = False                  # its last turn ended and its pool was let go

    @property
    def left(self) -> int:
        return len(self.urls) - self.next

    def take(self) -> tuple[str, int]:
        item = self.urls[self.next]
        self.next += 1
        return item


async def _pass(fetcher: Fetcher, work: list[tuple[str, int]], emit: Emit,
                retries: int | None = None) -> None:
    """Serve every host's lane in turn until all are done; `work` is (url, attempts made)."""
    robots_first = fetcher.config.respect_robots
    lanes: dict[str, _Lane] = {}
    for url, done in work:
        key = host_key(url)
        lane = lanes.get(key)
        if lane is None:
            lane = lanes[key] = _Lane(key, robots_first)
        lane.urls.append((url, done))
    await _Ring(fetcher, emit, retries).run(list(lanes.values()))


class _Ring:
    """The ring of lanes for one pass and the workers that turn it."""

    def __init__(self, fetcher: Fetcher, emit: Emit, retries: int | None):
        self.f = fetcher
        self.emit = emit
        self.retries = retries
        self.per_host = max(1, fetcher.config.per_host)
        self.ready: asyncio.Queue[_Lane | None] = asyncio.Queue()   # the ring: FIFO of lanes
        self.parked: set[_Lane] = set()        # waiting for their gate, on a timer
        self.left = 0                          # lanes not finished
        self.workers = 0

    async def run(self, lanes: list[_Lane]) -> None:
        self.left = len(lanes)
        wanted = sum(min(self.per_host, len(lane.urls)) for lane in lanes)
        self.workers = min(LANES_PER_SLOT * self.f.config.concurrency, wanted)
        pools = self.f.pools
        for lane in lanes:
            pools.hold(lane.key)
            lane.queued = True
            self.ready.put_nowait(lane)
        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(self.workers):
                    tg.create_task(self._worker())
        finally:                               # cancelled (caller left early) or a bug
            for lane in self.parked:
                if lane.timer is not None:
                    lane.timer.cancel()
            for lane in lanes:
                if not lane.released:
                    pools.unhold(lane.key)

    async def _worker(self) -> None:
        # Bounded: every turn takes one URL or the robots.txt step off a lane, and the
        # end marks (one per worker) arrive when the last lane is done.
        while (lane := await self.ready.get()) is not None:
            lane.queued = False
            lane.busy += 1
            try:
                if lane.robots_first:
                    lane.robots_first = False
                    await self._robots(lane)
                else:
                    url, done = lane.take()
                    self._requeue(lane)        # room for another of its turns meanwhile
                    await self.emit(await self.f.fetch(url, retries=self.retries,
                                                       first_attempt=done + 1))
            finally:
                lane.busy -= 1
            if lane.left:
                self._requeue(lane)
            elif not lane.busy:                # its last turn just ended
                lane.released = True
                await self.f.pools.release(lane.key)
                self.left -= 1
                if self.left == 0:
                    for _ in range(self.workers):
                        self.ready.put_nowait(None)

    async def _robots(self, lane: _Lane) -> None:
        """The host's robots.txt as a turn of its own (cached: the pages' fetches reuse it)."""
        assert self.f.robots is not None and self.f.gates is not None
        url = lane.urls[lane.next][0]
        policy = await self.f.robots.policy(url)      # a value, whatever the server sent
        delay = policy.crawl_delay(self.f.token)
        if delay:                              # as fetch_hops does, so the park below counts it
            self.f.gates[url].raise_interval(delay)

    def _requeue(self, lane: _Lane) -> None:
        """Back to the end of the ring, at once or when its host's gate will be ready.

        Up to per_host turns of a lane run at once (each re-enters at the back, so every
        other host gets its turn in between); while robots.txt is read, none (that turn
        requeues the lane only when it ends).
        """
        if lane.queued or not lane.left or lane.busy >= self.per_host:
            return
        assert self.f.gates is not None
        lane.queued = True
        wait = self.f.gates[lane.urls[lane.next][0]].ready_at() - time.monotonic()
        if wait <= 0:
            self.ready.put_nowait(lane)
            return
        self.parked.add(lane)
        lane.timer = asyncio.get_running_loop().call_later(wait, self._unpark, lane)

    def _unpark(self, lane: _Lane) -> None:
        self.parked.discard(lane)
        lane.timer = None
        self.ready.put_nowait(lane)
