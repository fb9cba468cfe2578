"""The main job: registry -> fetch -> verify -> store, one citation verdict at a time.

Each unique URL is fetched once; each citation of it gets its own verdict.
Verdicts are committed as they arrive, so a killed run can be resumed and a
reader sees progress. When not a single host answered at the connection level
the run is marked inconclusive: offline is not the same as every source dead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlite_utils import Database

from crawler import drift, health, store
from crawler.extract import parse_page
from crawler.fetch import FetchConfig, Fetcher, network_down
from crawler.fetch_body import ACCEPT_ENCODING
from crawler.hosts import host_key
from crawler.model import Citation, Fetched, Page, Status, Verdict, isonow
from crawler.verify import judge, needs_probe, probe_url
from crawler.warc import WarcWriter

T = TypeVar("T")
HTML_TYPES = ("text/html", "application/xhtml", "text/plain", "")


@dataclass(frozen=True)
class CheckOptions:
    fetch: FetchConfig = field(default_factory=FetchConfig)
    title_threshold: float = 85
    dead_runs: int = 3
    dead_days: float = 3
    resume: bool = False
    archive_dir: str | None = None      # write WARC snapshots here (None: don't)
    archive_all: bool = False


@dataclass
class CheckOutcome:
    run_id: int
    state: str                          # finished | inconclusive | interrupted
    counts: dict[str, int] = field(default_factory=dict)
    checked: int = 0
    skipped: int = 0                    # already recorded (resume)
    urls: int = 0                       # unique URLs this run set out to fetch
    archive_errors: list[str] = field(default_factory=list)   # pages not archived, and why


Progress = Callable[[Citation, Verdict], None]


def page_of(fetched: Fetched) -> Page | None:
    """Parse only what looks like a page; a PDF or an image has no title to compare."""
    if not fetched.answered or not fetched.body:
        return None
    ctype = fetched.headers.get("content-type", "").split(";")[0].strip().lower()
    if not any(ctype.startswith(t) for t in HTML_TYPES if t) and ctype:
        return None
    return parse_page(fetched.body, fetched.headers, fetched.final_url or fetched.url)


class _Prober:
    """Soft-404 evidence, fetched once per host per run and only for hosts that need it:
    a random path that cannot exist (Bar-Yossef et al.) and the site's home page."""

    def __init__(self, fetcher: Fetcher):
        self.fetcher = fetcher
        self.done: dict[str, asyncio.Future[tuple[tuple[Fetched, Page | None], Page | None]]] = {}

    async def probe(self, url: str) -> tuple[tuple[Fetched, Page | None], Page | None]:
        parts = urlsplit(url)
        host = parts.netloc.lower()
        if host not in self.done:
            self.done[host] = asyncio.ensure_future(self._fetch(url, f"{parts.scheme}://{parts.netloc}/"))
        return await self.done[host]

    async def _fetch(self, url: str, home: str) -> tuple[tuple[Fetched, Page | None], Page | None]:
        probe = await self.fetcher.fetch(probe_url(url))
        home_fetched = await self.fetcher.fetch(home) if url != home else None
        home_page = page_of(home_fetched) if home_fetched and home_fetched.status_code == 200 else None
        return (probe, page_of(probe)), home_page


def _with_history(db: Database, run_id: int, v: Verdict, opts: CheckOptions) -> tuple[Verdict, str]:
    """Add health (over stored runs) and drift (against the first stored text) to a verdict."""
    hist = store.status_history(db, v.id, before_run=run_id) + [(v.checked_at, v.status)]
    state, since = health.health(hist, runs=opts.dead_runs, days=opts.dead_days)
    drift_value = None
    if v.fingerprint:
        base, _ = store.baseline_fingerprint(db, v.url)
        drift_value = drift.similarity(base, v.fingerprint) if base else 1.0
    v = replace(v, health=state, drift=drift_value)
    return replace(v, url_status=health.url_status(v, state)), since


HEAVY_BODY = 256 * 1024     # bytes of body above which a page is parsed in a worker thread


async def _maybe_thread(heavy: bool, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kw) if heavy else fn(*args, **kw)


async def _judge_url(db: Database, run_id: int, fetched: Fetched, ids: list[str],
                     prober: _Prober, opts: CheckOptions, today: dt.date) -> list[tuple[Citation, Verdict]]:
    # Parsing and judging a heavy page is seconds of CPU (a 5 MB body, a megabyte title): off
    # the event loop, so requests in flight are not charged for it against their timeouts.
    # Ordinary pages stay inline: judging on the loop is what keeps the fetches from running
    # ahead of it and queueing pages in memory (a 100,000-URL run grew from 180 to 350 MB).
    heavy = len(fetched.body) > HEAVY_BODY
    page = await _maybe_thread(heavy, page_of, fetched)
    out = []
    for cid in ids:
        citation = store.get_citation(db, cid)
        if citation is None:
            continue
        probe, home = (await prober.probe(fetched.url) if needs_probe(citation, fetched, page)
                       else (None, None))
        v = await _maybe_thread(heavy, judge, citation, fetched, page, probe=probe, home=home,
                                title_threshold=opts.title_threshold, today=today)
        v, since = _with_history(db, run_id, v, opts)
        store.record_result(db, run_id, v, since)
        out.append((citation, v))
    return out


class EmptyRegistry(ValueError):
    """Not one usable citation was given: no run is started."""


def _begin(db: Database, citations: Iterable[Citation], registry: str, opts: CheckOptions,
           settings: dict) -> tuple[int, dict[str, list[str]], int]:
    """Stream the registry into the store and pick the run; returns (run, url -> ids, skipped).

    Citations pass through once, in batches, and only their (url, id) pairs are kept: a
    100,000-row registry as Citation objects alone is ~70 MB. Judging reads each citation
    back from the store when its page arrives.
    """
    by_url: dict[str, list[str]] = {}

    def noted(items: Iterable[Citation]) -> Iterator[Citation]:
        for c in items:
            by_url.setdefault(c.url, []).append(c.id)
            yield c

    if not store.upsert_citations(db, noted(citations)):
        raise EmptyRegistry("no usable citation rows")
    latest = store.latest_run(db)
    resumable = latest if latest and latest.state in ("running", "interrupted") else None
    # We hold the writer lock: any other run still marked running died without saying so.
    store.close_stale_runs(db, keep=resumable.id if opts.resume and resumable else None)
    run = resumable if opts.resume else None
    run_id = run.id if run else store.start_run(db, registry, settings)
    done = store.done_ids(db, run_id) if run else set()
    if done:
        by_url = {url: todo for url, ids in by_url.items()
                  if (todo := [i for i in ids if i not in done])}
    return run_id, by_url, len(done)


async def run_check(db: Database, citations: Iterable[Citation], opts: CheckOptions,
                    *, registry: str = "", settings: dict | None = None,
                    progress: Progress | None = None,
                    on_begin: Callable[[int, int], None] | None = None) -> CheckOutcome:
    """Check `citations` (any iterable: a list, or a registry streamed from disk).

    `on_begin(citations, urls)` is told how much is left to check once the registry is
    read (a resumed run counts only what it lacks); raises EmptyRegistry before any run
    starts when there is nothing to check.
    """
    run_id, by_url, skipped = _begin(db, citations, registry, opts, settings or {})
    outcome = CheckOutcome(run_id=run_id, state="finished", skipped=skipped,
                           urls=len(by_url))
    if on_begin is not None:
        on_begin(sum(len(ids) for ids in by_url.values()), len(by_url))
    writer = _open_archive(db, run_id, opts, outcome)
    try:
        answered = await _fetch_and_judge(db, run_id, by_url, opts, outcome, progress, writer)
    except BaseException:
        # cancelled, interrupted, or a bug: what finished is kept and the run says it stopped
        store.finish_run(db, run_id, "interrupted")
        outcome.state = "interrupted"
        raise
    finally:
        _close_archive(writer, outcome)
    if answered is False:
        outcome.state = "inconclusive"
    outcome.counts = store.finish_run(db, run_id, outcome.state).counts
    return outcome


def _heard(fetched: Fetched) -> bool:
    """Proof that a host is reachable: any HTTP answer, or a connection that then stalled."""
    if fetched.status_code > 0 or fetched.from_cache:
        return True
    return fetched.outcome is Status.TIMEOUT and "ConnectTimeout" not in fetched.error


def _open_archive(db: Database, run_id: int, opts: CheckOptions,
                  outcome: CheckOutcome) -> WarcWriter | None:
    """The run's WARC writer, or None when archiving is off or its directory is unusable.

    A read-only or full disk under the archive must not stop the check: pages are
    judged either way, and the reason is kept in outcome.archive_errors.
    """
    if not opts.archive_dir:
        return None
    writer = WarcWriter(Path(opts.archive_dir), db, run_id, opts.archive_all)
    try:
        return writer.__enter__()
    except (OSError, sqlite3.Error) as exc:
        outcome.archive_errors.append(f"archiving off: {opts.archive_dir}: "
                                      f"{type(exc).__name__}: {exc}")
        return None


def _close_archive(writer: WarcWriter | None, outcome: CheckOutcome) -> None:
    if writer is None:
        return
    try:
        writer.close()
    except (OSError, sqlite3.Error) as exc:
        outcome.archive_errors.append(f"closing the WARC file: {type(exc).__name__}: {exc}")
    outcome.archive_errors.extend(writer.errors)


def _unparseable(by_url: dict[str, list[str]]) -> list[Fetched]:
    """URLs that do not even split into scheme/host/port (`http://[::1`, `http://x:99999/`):
    one such registry row must end as invalid_url, not take the scheduler down with it."""
    out = []
    for url in by_url:
        try:
            host_key(url)
            urlsplit(url).port
        except ValueError as exc:
            out.append(Fetched(url, final_url=url, outcome=Status.INVALID_URL,
                               error=f"not a valid URL: {exc}", fetched_at=isonow()))
    return out


async def _fetch_and_judge(db: Database, run_id: int, by_url: dict[str, list[str]],
                           opts: CheckOptions, outcome: CheckOutcome,
                           progress: Progress | None, writer: WarcWriter | None) -> bool | None:
    """Judge each URL's citations as its fetch completes.

    Returns True if any host answered over HTTP, False if none did although we tried the
    network (DNS or connect failed everywhere: offline), None if nothing touched the network
    (every URL refused before any request: invalid, robots, private).
    """
    today = dt.date.today()
    answered: bool | None = None
    request_headers = {"User-Agent": opts.fetch.user_agent, "Accept": "*/*",
                       "Accept-Encoding": ACCEPT_ENCODING}
    async with Fetcher(opts.fetch) as fetcher:
        fetcher.on_attempt = lambda a: store.record_attempt(db, run_id, a)
        prober = _Prober(fetcher)
        for fetched in _unparseable(by_url):      # judged without a request, never fetched
            for citation, v in await _judge_url(db, run_id, fetched, by_url.pop(fetched.url),
                                                prober, opts, today):
                outcome.checked += 1
                if progress:
                    progress(citation, v)
        # Judging may wait on the network (a soft-404 probe goes through the host's polite
        # gate): one task per page, so a probe never holds up pages of other hosts. The
        # semaphore bounds pages in hand (memory) and pushes back on the fetch loop.
        slots = asyncio.Semaphore(2 * opts.fetch.concurrency)

        async def judge_one(fetched: Fetched) -> None:
            try:
                for citation, v in await _judge_url(db, run_id, fetched, by_url[fetched.url],
                                                    prober, opts, today):
                    outcome.checked += 1
                    if progress:
                        progress(citation, v)
            finally:
                slots.release()

        async with asyncio.TaskGroup() as tasks:
            async for fetched in fetcher.fetch_all(by_url):
                if _heard(fetched):
                    answered = True
                elif network_down([fetched]) and answered is None:
                    answered = False
                if writer is not None:
                    writer.write(fetched, request_headers)   # loop thread: sqlite is per-thread
                await slots.acquire()
                tasks.create_task(judge_one(fetched))
    return answered


def check(db: Database, citations: Iterable[Citation], opts: CheckOptions | None = None,
          **kw) -> CheckOutcome:
    """Synchronous entry point for library users."""
    return asyncio.run(run_check(db, citations, opts or CheckOptions(), **kw))


__all__ = ["CheckOptions", "CheckOutcome", "EmptyRegistry", "Status", "check", "page_of", "run_check"]
