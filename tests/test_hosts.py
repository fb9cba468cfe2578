"""Politeness and concurrency, asserted on what the servers saw (lower bounds only)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

from server import Response
from test_fetch import fetch_many, pages, run

from crawler.hosts import CRAWL_DELAY_CAP, HostGate, HostGates, host_key

SKEW = 0.0      # no slack: the gate counts from when the server has seen a request


def gaps(hits) -> list[float]:
    times = sorted(h.t for h in hits)
    return [b - a for a, b in itertools.pairwise(times)]


def test_one_host_is_serialised_with_the_interval(web):
    site = web()
    urls = [site.page(f"/p{i}", delay=0.03) for i in range(5)]
    results = fetch_many(urls, delay=0.15, per_host=1)
    assert all(r.status_code == 200 for r in results)
    hits = site.hits()
    assert [h.path for h in hits][0] == "/robots.txt"      # robots.txt counts as a request too
    assert site.peak_in_flight == 1
    assert min(gaps(hits)) >= 0.15 - SKEW


def test_per_host_limit_above_one(web):
    site = web()
    urls = [site.page(f"/p{i}", delay=0.1) for i in range(6)]
    fetch_many(urls, delay=0.0, per_host=3, respect_robots=False)
    assert site.peak_in_flight <= 3


def test_hosts_overlap_under_the_global_limit(web):
    """Four hosts answer only when all four requests are inside at once."""
    barrier = threading.Barrier(4)
    sites = [web() for _ in range(4)]
    urls = [s.gate("/together", barrier) for s in sites]
    results = fetch_many(urls, concurrency=4, respect_robots=False)
    assert [r.status_code for r in results] == [200] * 4


def test_global_limit_holds_across_hosts(web):
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def counted(h):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return Response(200, b"ok")

    sites = [web() for _ in range(6)]
    urls = [s.route(f"/c{i}", counted) for s in sites for i in range(2)]
    fetch_many(urls, concurrency=2, respect_robots=False)
    assert state["peak"] == 2


def test_a_host_in_backoff_does_not_stall_the_others(web):
    slow, calm = web(), web()
    url = slow.sequence("/s", Response(503), Response(200, b"ok"))
    calm_urls = pages(calm, 4)
    results = fetch_many([url] + calm_urls, backoff_base=0.5, respect_robots=False)
    assert all(r.status_code == 200 for r in results)
    retry_arrival = slow.hits("/s")[-1].t
    assert all(h.t < retry_arrival for h in calm.hits())


def test_gate_pause_holds_the_next_start():
    async def go() -> float:
        gates = HostGates(concurrency=4, per_host=1, interval=0.0)
        gate = gates["http://a.example/x"]
        gate.pause(0.2)
        t0 = time.monotonic()
        async with gates.slot("http://a.example/y"):
            return time.monotonic() - t0
    assert run(go()) >= 0.2 - SKEW


def test_ready_at_follows_the_interval_and_a_pause():
    gate = HostGate("http://a:80", per_host=1, interval=2.0)
    assert gate.ready_at() <= time.monotonic()        # never used: ready now
    gate.mark_seen()
    seen = time.monotonic()
    assert seen + 1.0 < gate.ready_at() <= seen + 2.0  # the interval counts from the answer
    gate.pause(60)
    assert gate.ready_at() >= seen + 59                # Retry-After outranks the interval


def test_crawl_delay_raises_but_is_capped():
    gate = HostGate("http://a:80", per_host=1, interval=1.0)
    gate.raise_interval(0.1)
    assert gate.interval == 1.0
    gate.raise_interval(3600)
    assert gate.interval == CRAWL_DELAY_CAP


def test_host_key_is_scheme_host_port():
    assert host_key("http://Example.org/a") == "http://example.org:80"
    assert host_key("https://example.org:8443/") == "https://example.org:8443"
    assert host_key("http://[::1]:8080/") == "http://[::1]:8080"
    assert host_key("http://example.org/a") != host_key("https://example.org/a")


def test_gates_share_one_global_limit():
    async def go() -> int:
        gates = HostGates(concurrency=1, per_host=1, interval=0.0)
        inside, peak = 0, 0

        async def one(url: str) -> None:
            nonlocal inside, peak
            async with gates.slot(url):
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.01)
                inside -= 1
        await asyncio.gather(*(one(f"http://h{i}.example/") for i in range(5)))
        return peak
    assert run(go()) == 1
