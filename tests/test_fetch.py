"""The fetch engine against real loopback servers: answers, redirects, retries, caps, SSRF."""

from __future__ import annotations

import asyncio
import socket
import tracemalloc
from dataclasses import replace

import httpx
import pytest
from server import Response

from crawler import USER_AGENT, netguard
from crawler.fetch import FetchConfig, Fetcher, classify, network_down
from crawler.fetch_hops import parse_retry_after
from crawler.model import Attempt, Fetched, Status

QUICK = FetchConfig(allow_private=True, delay=0.0, cache_dir=None, backoff_base=0.01,
                    max_retries=2, connect_timeout=1.0, read_timeout=2.0, total_timeout=5.0)
TEST_DEADLINE = 15.0      # seconds; only so a broken cap fails instead of hanging the suite


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, TEST_DEADLINE))


def fetch_one(url: str, attempts: list[Attempt] | None = None, **kw) -> Fetched:
    async def go() -> Fetched:
        async with Fetcher(replace(QUICK, **kw), on_attempt=_sink(attempts)) as f:
            return await f.fetch(url)
    return run(go())


def fetch_many(urls: list[str], attempts: list[Attempt] | None = None, **kw) -> list[Fetched]:
    async def go() -> list[Fetched]:
        async with Fetcher(replace(QUICK, **kw), on_attempt=_sink(attempts)) as f:
            return [r async for r in f.fetch_all(urls)]
    return run(go())


def _sink(attempts: list[Attempt] | None):
    return attempts.append if attempts is not None else None


def pages(site, n: int, prefix: str = "/p") -> list[str]:
    return [site.page(f"{prefix}{i}", title=f"Page {i}") for i in range(n)]


def closed_port_url(host: str = "127.0.0.1") -> str:
    """A URL on a port nobody listens on: connection refused, fast."""
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    return f"http://{host}:{port}/"


# -- answers -------------------------------------------------------------------

def test_page_answer_and_honest_identity(web):
    site = web()
    url = site.page("/a", title="Alpha")
    attempts: list[Attempt] = []
    r = fetch_one(url, attempts)
    assert (r.status_code, r.outcome, r.final_url) == (200, None, url)
    assert b"<title>Alpha</title>" in r.body and r.headers["content-type"].startswith("text/html")
    assert r.remote_addr == site.host and r.answered
    hit = site.hits("/a")[0]
    assert hit.headers["user-agent"] == USER_AGENT
    assert [(a.attempt, a.status_code, a.bytes) for a in attempts] == [(1, 200, len(r.body))]


def test_any_status_is_an_answer_not_an_outcome(web):
    site = web()
    r = fetch_one(site.url("/missing"))
    assert (r.status_code, r.outcome) == (404, None)


def test_fetch_all_fetches_each_unique_url_once(web):
    a, b = web(), web()
    urls = pages(a, 3) + pages(b, 2)
    results = fetch_many(urls + urls[:2], respect_robots=False)
    assert sorted(r.url for r in results) == sorted(urls)
    assert len(a.hits()) == 3 and len(b.hits()) == 2


# -- redirects ---------------------------------------------------------------------

def test_redirect_chain_across_hosts_is_recorded(web):
    a, b = web(), web()
    final = b.page("/final", title="Final")
    b.redirect("/mid", final, 302)
    start = a.redirect("/start", b.url("/mid"), 301)
    r = fetch_one(start)
    assert r.status_code == 200 and r.final_url == final
    assert [(h.url, h.status_code) for h in r.hops] == [(start, 301), (b.url("/mid"), 302)]
    assert [h.path for h in b.hits()] == ["/robots.txt", "/mid", "/final"]   # b's own robots


def test_redirect_loop_and_too_many_redirects(web):
    site = web()
    r = fetch_one(site.redirect_loop("/x", "/y"))
    assert r.outcome is Status.REDIRECT_LOOP and len(r.hops) == 2
    for i in range(5):
        site.redirect(f"/r{i}", f"/r{i + 1}")
    r = fetch_one(site.url("/r0"), max_redirects=3)
    assert r.outcome is Status.REDIRECT_LOOP and len(r.hops) == 4
    assert "/r5" not in [h.path for h in site.hits()]


# -- retries -------------------------------------------------------------------------

def test_5xx_then_success_is_retried(web):
    site = web()
    url = site.sequence("/flaky", Response(503), Response(502), Response(200, b"ok"))
    attempts: list[Attempt] = []
    r = fetch_one(url, attempts)
    assert (r.status_code, r.body, r.attempts) == (200, b"ok", 3)
    assert [a.status_code for a in attempts] == [503, 502, 200]
    assert [a.attempt for a in attempts] == [1, 2, 3]


def test_connection_error_is_retried_then_reported(web):
    site = web()
    url = site.drop("/drop")
    r = fetch_one(url, max_retries=1)
    assert r.outcome is Status.CONNECTION_ERROR and r.attempts == 2 and r.error
    assert len(site.hits("/drop")) == 2


def test_404_is_not_retried(web):
    site = web()
    fetch_one(site.url("/gone"))
    assert len(site.hits("/gone")) == 1


def test_429_exhausted_is_an_answer(web):
    site = web()
    url = site.storm_429("/busy", retry_after=None)
    r = fetch_one(url, max_retries=1)
    assert (r.status_code, r.outcome, r.attempts) == (429, None, 2)


def test_retry_after_is_obeyed_server_side(web):
    site = web()
    url = site.sequence("/limited", Response(429, b"", {"Retry-After": "1"}), Response(200, b"ok"))
    r = fetch_one(url)
    assert r.status_code == 200 and r.retry_after is None
    first, second = site.hits("/limited")
    assert second.t - first.t >= 1.0          # lower bound, from server-side arrival times


def test_retry_after_pauses_the_whole_host(web):
    site = web()
    limited = site.sequence("/limited", Response(429, b"", {"Retry-After": "1"}), Response(200))
    slow, after = site.page("/slow", delay=0.2), site.page("/after")
    fetch_many([limited, slow, after], per_host=2, respect_robots=False)
    assert site.hits("/after")[0].t - site.hits("/limited")[0].t >= 1.0


def test_429_without_retry_after_backs_off_the_host(web):
    site = web()
    busy = site.sequence("/busy", Response(429), Response(200))
    slow, after = site.page("/slow", delay=0.2), site.page("/after")
    fetch_many([busy, slow, after], per_host=2, backoff_base=0.5, respect_robots=False)
    assert site.hits("/after")[0].t - site.hits("/busy")[0].t >= 0.5


def test_retry_after_beyond_cap_blocks_the_host(web):
    site = web()
    url = site.storm_429("/busy", retry_after="3600")
    other = site.page("/other")
    results = {r.url: r for r in fetch_many([url, other], retry_after_cap=5.0,
                                            respect_robots=False)}
    r = results[url]
    assert (r.status_code, r.outcome, r.retry_after) == (429, Status.BLOCKED, 3600.0)
    assert results[other].outcome is Status.BLOCKED          # not even asked
    assert [h.path for h in site.hits()] == ["/busy"]


@pytest.mark.parametrize("value, low, high", [
    ("120", 120, 120), ("0", 0, 0), ("soon", None, None), ("", None, None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0, 0),            # a date in the past: go now
])
def test_parse_retry_after(value, low, high):
    got = parse_retry_after(value)
    assert got == low if low is None else low <= got <= high


def test_parse_retry_after_future_date():
    import email.utils
    import time
    got = parse_retry_after(email.utils.formatdate(time.time() + 30, usegmt=True))
    assert got is not None and 25 <= got <= 30


def test_transient_failures_get_a_last_pass_after_other_hosts(web):
    flaky, calm = web(), web()
    url = flaky.sequence("/f", Response(500), Response(500), Response(200, b"late"))
    calm_urls = [calm.page(f"/c{i}", delay=0.05) for i in range(3)]
    results = {r.url: r for r in fetch_many([url] + calm_urls, max_retries=1,
                                            respect_robots=False)}
    assert (results[url].status_code, results[url].attempts) == (200, 3)
    last_try = flaky.hits("/f")[-1].t
    assert all(h.t < last_try for h in calm.hits())


# -- caps ----------------------------------------------------------------------------

def test_body_cap_truncates_but_returns_the_head(web):
    site = web()
    url = site.raw("/big", b"<html>" + b"x" * 300_000)
    r = fetch_one(url, max_bytes=100_000)
    assert r.truncated and len(r.body) == 100_000 and r.body.startswith(b"<html>")
    exact = site.raw("/exact", b"y" * 1000)
    r = fetch_one(exact, max_bytes=1000)
    assert not r.truncated and len(r.body) == 1000


def test_endless_body_stops_at_the_cap(web):
    site = web()
    r = fetch_one(site.endless("/endless"), max_bytes=200_000)
    assert r.status_code == 200 and r.truncated and len(r.body) == 200_000


def test_gzip_bomb_stops_at_cap_with_constant_memory(web):
    site = web()
    url = site.gzip_bomb("/bomb", size=128 << 20)          # 128 MiB of zeros, ~130 KB on the wire
    tracemalloc.start()
    try:
        r = fetch_one(url, max_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.truncated and len(r.body) == 1_000_000
    # httpx's own decoder would inflate one 64 KiB network chunk to ~64 MB at once;
    # ours stays near the cap plus the client's fixed overhead (~3-10 MB measured)
    assert peak < 20_000_000, f"peak {peak} bytes: decompression not bounded"


def test_gzip_body_is_decoded(web):
    import gzip
    site = web()
    url = site.raw("/gz", gzip.compress(b"<title>Zipped</title>"), headers={"Content-Encoding": "gzip"})
    r = fetch_one(url)
    assert r.body == b"<title>Zipped</title>"
    assert "gzip" in site.hits("/gz")[0].headers["accept-encoding"]


def test_trickling_server_ends_at_the_total_timeout(web):
    site = web()
    url = site.slow_drip("/drip", interval=0.05)
    r = fetch_one(url, max_retries=0, read_timeout=2.0, total_timeout=0.5)
    assert r.outcome is Status.TIMEOUT


def test_hanging_server_is_a_read_timeout(web):
    site = web()
    r = fetch_one(site.hang("/hang", seconds=1.0), max_retries=0, read_timeout=0.2)
    assert r.outcome is Status.TIMEOUT


# -- URLs and safety ---------------------------------------------------------------------

@pytest.mark.parametrize("url", ["ftp://example.org/x", "mailto:a@b.c", "http://", "not a url", "",
                                 "http://example.org:99999/", "http://exa mple.org/"])
def test_invalid_urls_are_values(url):
    attempts: list[Attempt] = []
    r = fetch_one(url, attempts)
    assert r.outcome is Status.INVALID_URL and r.url == url
    assert attempts[0].outcome is Status.INVALID_URL


@pytest.mark.parametrize("ip, forbidden", [
    ("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.1", True), ("172.16.5.4", True),
    ("169.254.169.254", True), ("224.0.0.1", True), ("0.0.0.0", True), ("::1", True),
    ("fe80::1", True), ("::ffff:127.0.0.1", True), ("fc00::1", True), ("garbage", True),
    ("93.184.216.34", False), ("2606:4700::1111", False), ("8.8.8.8", False),
])
def test_address_check(ip, forbidden):
    assert netguard.is_forbidden(ip) is forbidden


def test_loopback_url_is_refused_by_default(web):
    site = web()
    url = site.page("/secret")
    r = fetch_one(url, allow_private=False)
    assert r.outcome is Status.PRIVATE_ADDRESS and site.host in r.error
    assert site.hits() == []


def test_redirect_into_private_range_is_refused(web, monkeypatch):
    public, private = web(), web()
    monkeypatch.setattr(netguard, "is_forbidden", lambda ip: ip == private.host)
    url = public.redirect("/go", private.url("/admin"))
    r = fetch_one(url, allow_private=False)
    assert r.outcome is Status.PRIVATE_ADDRESS and r.hops[0].url == url
    assert private.hits() == []


def test_connected_address_is_checked_not_only_dns(web, monkeypatch):
    """DNS said 'public' (rebinding), the socket reached loopback: body not taken."""
    site = web()
    url = site.page("/rebind", title="internal")

    async def public_dns(host, port):
        return ["93.184.216.34"]
    monkeypatch.setattr(netguard, "resolve", public_dns)
    r = fetch_one(url, allow_private=False, respect_robots=False)
    assert r.outcome is Status.PRIVATE_ADDRESS and r.body == b""


def test_allow_private_lifts_the_guard(web):
    site = web()
    assert fetch_one(site.page("/ok"), allow_private=True).status_code == 200


# -- errors and network down -------------------------------------------------------------

def test_closed_port_is_connection_error_and_network_down():
    r = fetch_one(closed_port_url("127.0.0.1"), max_retries=1, respect_robots=False)
    assert r.outcome is Status.CONNECTION_ERROR and r.attempts == 2
    assert network_down([r])


def test_network_down_needs_every_host_silent(web):
    site = web()
    ok = fetch_one(site.page("/up"))
    dead = Fetched("http://x/", outcome=Status.DNS_ERROR)
    refused = Fetched("http://y/", outcome=Status.ROBOTS_DISALLOWED)
    assert network_down([dead, replace(dead, outcome=Status.CONNECTION_ERROR)])
    assert not network_down([dead, ok])
    assert not network_down([refused]) and not network_down([])
    blocked = Fetched("http://z/", status_code=429, outcome=Status.BLOCKED)
    assert not network_down([dead, blocked])                   # a 429 is a host answering
    assert network_down([dead, refused])
    assert not network_down([replace(ok, status_code=503)])     # a 503 is an answer


@pytest.mark.parametrize("exc, status", [
    (httpx.ConnectTimeout("t"), Status.TIMEOUT),
    (httpx.ReadTimeout("t"), Status.TIMEOUT),
    (TimeoutError(), Status.TIMEOUT),
    (httpx.ConnectError("refused"), Status.CONNECTION_ERROR),
    (httpx.RemoteProtocolError("closed"), Status.CONNECTION_ERROR),
    (httpx.UnsupportedProtocol("gopher"), Status.INVALID_URL),
    (socket.gaierror(-2, "Name or service not known"), Status.DNS_ERROR),
    (ValueError("a bug"), Status.CONNECTION_ERROR),
])
def test_exception_table(exc, status):
    got, detail = classify(exc)
    assert got is status and detail


def test_dns_and_tls_causes_are_found_in_the_chain():
    import ssl
    for cause, status in [(socket.gaierror(-2, "nope"), Status.DNS_ERROR),
                          (ssl.SSLCertVerificationError("bad cert"), Status.TLS_ERROR)]:
        try:
            try:
                raise cause
            except Exception as inner:
                raise httpx.ConnectError(str(inner)) from inner
        except httpx.ConnectError as exc:
            assert classify(exc)[0] is status


def test_unresolvable_name_is_dns_error():
    r = fetch_one("http://no-such-host.invalid/", allow_private=False, max_retries=0)
    assert r.outcome is Status.DNS_ERROR


def test_fetch_outside_the_context_manager_is_a_usage_error():
    with pytest.raises(RuntimeError):
        asyncio.run(Fetcher(QUICK).fetch("http://127.0.0.1/"))


def test_many_hosts_more_than_open_lanes(web):
    sites = [web() for _ in range(5)]
    urls = [s.page(f"/p{i}") for s in sites for i in range(2)]
    results = fetch_many(urls, concurrency=1, respect_robots=False)   # 4 lanes open at most
    assert sorted(r.url for r in results) == sorted(urls)
    assert all(r.status_code == 200 for r in results)


def test_results_are_yielded_as_they_finish(web):
    slow, fast = web(), web()
    urls = [slow.page("/s", delay=0.4), fast.page("/f")]
    results = fetch_many(urls, respect_robots=False)
    assert [r.url for r in results] == [urls[1], urls[0]]


def test_leaving_fetch_all_early_stops_the_rest(web):
    site = web()
    urls = [site.page(f"/p{i}", delay=0.05) for i in range(20)]

    async def go() -> Fetched:
        async with Fetcher(replace(QUICK, respect_robots=False)) as f:
            async for first in f.fetch_all(urls):
                return first
        raise AssertionError("nothing yielded")
    assert run(go()).status_code == 200
    assert len(site.hits()) < len(urls)


def test_offline_run_is_network_down_not_robots(web):
    """With robots on, unreachable hosts end as connection errors, so the run reads 'offline'."""
    urls = [closed_port_url("127.0.0.1"), closed_port_url("127.0.0.2")]
    results = fetch_many(urls, max_retries=1)
    assert {r.outcome for r in results} == {Status.CONNECTION_ERROR}
    assert all("robots.txt unreachable" in r.error for r in results)
    assert all(r.attempts == 2 for r in results)       # no retries without news; one end pass
    assert network_down(results)


def test_end_pass_asks_for_robots_again(web):
    site = web()
    site.sequence("/robots.txt", Response(404, delay=1.0), Response(404))
    url = site.page("/a")
    r = fetch_many([url], read_timeout=0.3)[0]
    assert (r.status_code, r.attempts) == (200, 2)
    assert [h.path for h in site.hits()] == ["/robots.txt", "/robots.txt", "/a"]
