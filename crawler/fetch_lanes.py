"""Scheduling many URLs: one lane per host, all lanes at once, a last pass at the end.

A lane is one host's queue walked by `per_host` workers, so a host's URLs are
a unit that could be handed to another worker or process later. Lanes run
concurrently (bounded by the global limit inside the host gates), so the wall
time approaches the busiest host's queue rather than the sum, and a host that
is backing off only delays its own lane. URLs that end in a transient failure
are held back and tried once more after every lane is done, when a flaky
server or a short network blip may have passed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import suppress
from typing import TYPE_CHECKING

from crawler.hosts import host_key
from crawler.model import Fetched

if TYPE_CHECKING:
    from crawler.fetch import Fetcher

__all__ = ["run_lanes"]

Emit = Callable[[Fetched], Awaitable[None]]
LANES_PER_SLOT = 16       # open lanes per global slot (see _pass): 4 served 2,000 hosts in slow waves


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
            with suppress(asyncio.CancelledError):
                await runner


async def _run(fetcher: Fetcher, urls: list[str], out: asyncio.Queue[Fetched | None]) -> None:
    from crawler.fetch import should_retry
    cap = fetcher.config.retry_after_cap
    held: list[Fetched] = []

    async def first_pass(r: Fetched) -> None:
        if should_retry(r, cap):
            held.append(r)
        else:
            await out.put(r)

    try:
        await _pass(fetcher, [(u, 0) for u in urls], first_pass)
        if held:
            assert fetcher.robots is not None
            fetcher.robots.forget_failures()
            await _pass(fetcher, [(r.url, r.attempts) for r in held], out.put, retries=0)
    finally:
        try:
            out.put_nowait(None)
        except asyncio.QueueFull:
            await out.put(None)


async def _pass(fetcher: Fetcher, work: list[tuple[str, int]], emit: Emit,
                retries: int | None = None) -> None:
    """Run every host's lane; `work` is (url, attempts already made).

    At most LANES_PER_SLOT x concurrency lanes are open at once: enough that
    hosts waiting out their interval never starve the global limit, few
    enough that thousands of hosts do not mean thousands of idle sockets.
    """
    lanes: dict[str, deque[tuple[str, int]]] = {}
    for url, done in work:
        lanes.setdefault(host_key(url), deque()).append((url, done))
    open_lanes = asyncio.Semaphore(LANES_PER_SLOT * fetcher.config.concurrency)
    async with asyncio.TaskGroup() as tg:
        for key, queue in lanes.items():
            tg.create_task(_lane(fetcher, key, queue, emit, retries, open_lanes))


async def _lane(fetcher: Fetcher, key: str, queue: deque[tuple[str, int]], emit: Emit,
                retries: int | None, open_lanes: asyncio.Semaphore) -> None:
    """One host's queue, walked by per_host workers; its connections closed at the end."""
    async def worker() -> None:
        while queue:                          # bounded: each pop removes one URL
            url, done = queue.popleft()
            await emit(await fetcher.fetch(url, retries=retries, first_attempt=done + 1))

    async with open_lanes:
        async with asyncio.TaskGroup() as tg:
            for _ in range(min(fetcher.config.per_host, len(queue))):
                tg.create_task(worker())
        await fetcher.release_host(key)
