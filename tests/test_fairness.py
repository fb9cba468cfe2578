"""Scheduling across hosts (fetch_lanes.py, fetch_transport.py) against real loopback servers.

Orders and counts as the *servers* saw them: which host got which request
when, how many were in flight at once, over how many connections. No timing
assertions; the worker count is made small (LANES_PER_SLOT) so that there are
more hosts than workers, the case where fairness can break.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest
from server import Response, html_page

from crawler import fetch_lanes
from crawler.fetch import FetchConfig, Fetcher
from crawler.fetch_transport import pool_cap
from crawler.model import Fetched, Status

QUICK = FetchConfig(allow_private=True, delay=0.0, cache_dir=None, backoff_base=0.01,
                    max_retries=1, connect_timeout=2.0, read_timeout=5.0, total_timeout=10.0)
TEST_DEADLINE = 30.0      # seconds; only so a broken scheduler fails instead of hanging the suite


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, TEST_DEADLINE))


def fetch_all(urls: list[str], max_pools: int | None = None, **kw
              ) -> tuple[list[Fetched], Fetcher]:
    async def go() -> tuple[list[Fetched], Fetcher]:
        async with Fetcher(replace(QUICK, **kw)) as f:
            if max_pools is not None:
                f.pools.max_pools = max_pools
            return [r async for r in f.fetch_all(urls)], f
    return run(go())


@pytest.fixture
def workers(monkeypatch):
    """workers(n): n lanes in hand per global slot (n x concurrency workers)."""
    def set_(n: int) -> None:
        monkeypatch.setattr(fetch_lanes, "LANES_PER_SLOT", n)
    return set_


def counted(site, paths: list[str]) -> tuple[list[str], list[int]]:
    """Pages that record the client's port of each request: one port per connection."""
    ports: list[int] = []

    def serve(h) -> Response:
        ports.append(h.client_address[1])
        return Response(200, html_page("Counted"))
    return [site.route(p, serve) for p in paths], ports


def arrivals(sites) -> list[tuple[int, str]]:
    """Every request any site got, in arrival order: (site index, path)."""
    hits = sorted((h.t, i, h.path) for i, s in enumerate(sites) for h in s.hits())
    return [(i, path) for _, i, path in hits]


# -- rotation ----------------------------------------------------------------------

def test_one_worker_serves_hosts_in_strict_rotation(web, workers):
    """Each host's URLs listed together, still served one turn per host in rotation."""
    workers(1)
    sites = [web() for _ in range(4)]
    urls = [s.page(f"/p{k}") for s in sites for k in range(3)]       # grouped by host
    results, _ = fetch_all(urls, concurrency=1)
    assert sorted(r.url for r in results) == sorted(urls)
    assert all(r.status_code == 200 for r in results)
    robots = [(i, "/robots.txt") for i in range(4)]                   # its own turn first
    pages = [(i, f"/p{k}") for k in range(3) for i in range(4)]
    assert arrivals(sites) == robots + pages


def test_more_hosts_than_workers_every_host_starts_before_any_gets_its_third(web, workers):
    workers(1)                                    # 2 workers for 6 hosts
    sites = [web() for _ in range(6)]
    urls = [s.page(f"/p{k}") for s in sites for k in range(4)]
    results, _ = fetch_all(urls, concurrency=2)
    assert all(r.status_code == 200 for r in results) and len(results) == len(urls)
    order = [hit for hit in arrivals(sites) if hit[1] != "/robots.txt"]
    rank = {hit: n for n, hit in enumerate(order)}
    for k in range(2):                            # k-th turns all before any (k+2)-th
        assert max(rank[(i, f"/p{k}")] for i in range(6)) < \
            min(rank[(i, f"/p{k + 2}")] for i in range(6))
    assert all(s.peak_in_flight == 1 for s in sites)              # per_host=1


def test_a_hosts_requests_overlap_up_to_per_host_and_never_more(web, workers):
    workers(1)
    sites = [web() for _ in range(3)]
    urls = [s.page(f"/p{k}", delay=0.05) for s in sites for k in range(6)]
    results, _ = fetch_all(urls, concurrency=4, per_host=2)
    assert all(r.status_code == 200 for r in results) and len(results) == len(urls)
    assert max(s.peak_in_flight for s in sites) == 2                # its turns overlap...
    assert all(s.peak_in_flight <= 2 for s in sites)               # ...within per_host


def test_a_slow_answer_does_not_hold_up_the_hosts_other_requests(web):
    """per_host=2: while /slow is in flight, the other slot goes on through the host's URLs.

    /slow answers only once /f3 has arrived (404 if it never does): turns taken in
    batches of per_host would wait for /slow before sending /f2, and /f3 never comes.
    """
    site = web()
    reached = threading.Event()

    def slow(h) -> Response:
        return Response(200 if reached.wait(5.0) else 404, html_page("Slow"))

    def last(h) -> Response:
        reached.set()
        return Response(200, html_page("Fast"))
    urls = [site.route("/slow", slow), site.page("/f1"), site.page("/f2"),
            site.route("/f3", last)]
    results, _ = fetch_all(urls, concurrency=4, per_host=2, max_retries=0)
    assert {r.url: r.status_code for r in results} == {u: 200 for u in urls}
    assert site.peak_in_flight == 2


def test_a_host_waiting_out_its_interval_does_not_hold_a_worker(web, workers):
    """One worker; host A's robots.txt asks for 2 s between requests. B is served meanwhile."""
    workers(1)
    a, b = web(), web()
    a.robots("User-agent: *\nCrawl-delay: 2\n")
    urls = [a.page("/a"), *[b.page(f"/b{k}") for k in range(4)]]
    results, _ = fetch_all(urls, concurrency=1)
    assert all(r.status_code == 200 for r in results)
    order = arrivals([a, b])
    assert order[-1] == (0, "/a")                 # every page of B went while A was parked
    assert [p for i, p in order if i == 0] == ["/robots.txt", "/a"]


def test_many_single_url_hosts_do_not_mean_one_task_each(web, workers):
    workers(1)
    sites = [web() for _ in range(24)]
    urls = [s.page("/only") for s in sites]
    most = 0

    async def go() -> list[Fetched]:
        nonlocal most
        async with Fetcher(replace(QUICK, concurrency=2)) as f:
            out = []
            async for r in f.fetch_all(urls):
                most = max(most, len(asyncio.all_tasks()))
                out.append(r)
            return out
    results = run(go())
    assert len(results) == 24 and all(r.status_code == 200 for r in results)
    assert most < len(sites) // 2                 # the caller, the scheduler, 2 workers, ...


# -- connection pools ----------------------------------------------------------------

def test_a_parked_host_keeps_its_connection(web, workers):
    workers(1)
    sites = [web() for _ in range(3)]
    made = [counted(s, [f"/p{k}" for k in range(4)]) for s in sites]
    urls = [url for paths, _ in made for url in paths]
    results, f = fetch_all(urls, concurrency=1, respect_robots=False)
    assert all(r.status_code == 200 for r in results)
    assert [s.hits()[0].path for s in sites] == ["/p0"] * 3
    assert [len(set(ports)) for _, ports in made] == [1, 1, 1]     # 4 turns, 1 connection each
    assert f.pools.open_pools == 0                                  # finished lanes: closed


def test_open_pools_stay_within_the_cap_and_still_reuse(web, workers):
    """3 hosts in rotation, room for 2 pools: closing the least recently used pool would
    close each one just before its turn; the newest goes, so some connections are reused."""
    workers(1)
    sites = [web() for _ in range(3)]
    made = [counted(s, [f"/p{k}" for k in range(4)]) for s in sites]
    urls = [url for paths, _ in made for url in paths]
    results, f = fetch_all(urls, max_pools=2, concurrency=1, respect_robots=False)
    assert all(r.status_code == 200 for r in results)
    assert f.pools.peak == 2
    connections = sum(len(set(ports)) for _, ports in made)
    assert 3 <= connections <= len(urls) * 2 // 3       # least recently used first: 11 of 12


def test_pool_cap_with_many_hosts_and_workers(web, workers):
    workers(2)                                    # 8 workers for 10 hosts
    sites = [web() for _ in range(10)]
    urls = [s.page(f"/p{k}") for s in sites for k in range(3)]
    results, f = fetch_all(urls, max_pools=4, concurrency=4)
    assert all(r.status_code == 200 for r in results) and len(results) == len(urls)
    assert 1 <= f.pools.peak <= 4
    assert all(s.peak_in_flight == 1 for s in sites)


def test_a_finished_lane_never_closes_a_pool_with_a_request_in_flight(web):
    """A soft-404 probe (fetch outside the lanes) to a host whose lane ends meanwhile."""
    site = web()
    slow = site.page("/slow", delay=0.5)
    fast = site.page("/fast")

    async def go() -> tuple[Fetched, list[Fetched], int]:
        async with Fetcher(replace(QUICK, per_host=2, max_retries=0)) as f:
            async def lane() -> list[Fetched]:
                return [r async for r in f.fetch_all([fast])]
            probe, listed = await asyncio.gather(f.fetch(slow), lane())
            return probe, listed, f.pools.open_pools
    probe, listed, still_open = run(go())
    assert [r.status_code for r in listed] == [200]
    assert (probe.status_code, probe.outcome) == (200, None)
    assert still_open == 0                        # closed once its last request ended


def test_pool_cap_follows_the_open_file_limit(monkeypatch):
    import resource
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1 << 20, 1 << 20))
    assert pool_cap(per_host=1, concurrency=16) == 1024               # 64 per global slot
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 4096))
    assert pool_cap(per_host=1, concurrency=16) == 512                # half of 1,024 files
    assert pool_cap(per_host=4, concurrency=64) == 128
    assert pool_cap(per_host=8, concurrency=100) == 100               # never below the limit


# -- stopping and faults ---------------------------------------------------------------

def test_cancelling_a_run_whose_reader_stopped_reading_ends_it(web):
    """The output queue is full and nobody reads it: a cancel (SIGTERM in `crawler check`)
    must still end the run, not wait forever to hand over the end mark."""
    site = web()
    urls = [site.page(f"/p{k}") for k in range(12)]

    async def go() -> str:
        async with Fetcher(replace(QUICK, concurrency=1)) as f:     # output queue of 2
            async def reader() -> None:
                async for _ in f.fetch_all(urls):
                    await asyncio.sleep(3600)                        # stops reading
            task = asyncio.ensure_future(reader())
            for _ in range(500):                                     # bounded poll
                if len(site.hits()) >= 5:     # robots.txt, one page in hand, two queued,
                    break                     # and one fetched, waiting for room
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)          # let that last page reach the full queue
            task.cancel()
            try:
                await asyncio.wait_for(task, 10)
            except asyncio.CancelledError:
                return "cancelled"
            except TimeoutError:
                return "hung"
            return "finished"
    assert run(go()) == "cancelled"
    assert len(site.hits()) < len(urls) + 1                          # it stopped fetching


def test_a_robots_txt_that_cannot_be_parsed_is_a_status_not_a_crash(web, monkeypatch):
    """Whatever the parser makes of a hostile robots.txt, the run goes on: the host's
    pages end robots_disallowed (rules unknown, as for a 5xx), other hosts are fetched."""
    from crawler import robots

    bad, good = web(), web()
    bad.robots("User-agent: *\n# BOOM\n")
    real = robots.Protego.parse

    def parse(text, *a, **kw):
        if "BOOM" in text:
            raise ValueError("parser gave up")
        return real(text, *a, **kw)
    monkeypatch.setattr(robots.Protego, "parse", parse)
    urls = [bad.page("/a"), bad.page("/b"), good.page("/c")]
    results, _ = fetch_all(urls, max_retries=0)
    by_url = {r.url: r for r in results}
    assert set(by_url) == set(urls)
    assert by_url[good.url("/c")].status_code == 200
    for url in urls[:2]:
        assert by_url[url].outcome is Status.ROBOTS_DISALLOWED
        assert "could not be parsed" in by_url[url].error
    assert [h.path for h in bad.hits()] == ["/robots.txt"]      # no page was requested
