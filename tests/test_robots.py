"""robots.txt per RFC 9309: our token, disallow, Crawl-delay, 4xx allow, 5xx disallow."""

from __future__ import annotations

import itertools

from test_fetch import fetch_many, fetch_one

from crawler.model import Fetched, Status
from crawler.robots import RobotsPolicy, policy_from, product_token

SKEW = 0.0      # see test_hosts.SKEW


def test_disallowed_path_is_not_fetched(web):
    site = web()
    site.robots("User-agent: crawler\nDisallow: /private\n")
    ok, private = site.page("/public"), site.page("/private/x")
    results = {r.url: r for r in fetch_many([ok, private], per_host=2)}
    assert results[ok].status_code == 200
    assert results[private].outcome is Status.ROBOTS_DISALLOWED
    assert "/private/x" not in [h.path for h in site.hits()]


def test_robots_is_fetched_once_per_host_for_concurrent_requests(web):
    site = web()
    site.robots("User-agent: *\nAllow: /\n")
    fetch_many([site.page(f"/p{i}") for i in range(6)], per_host=3)
    assert len(site.hits("/robots.txt")) == 1


def test_our_product_token_group_wins_over_star(web):
    site = web()
    site.robots("User-agent: *\nAllow: /\n\nUser-agent: crawler\nDisallow: /\n")
    r = fetch_one(site.page("/a"))
    assert r.outcome is Status.ROBOTS_DISALLOWED
    assert product_token("crawler/0.1.0 (+https://x)") == "crawler"


def test_crawl_delay_raises_the_interval(web):
    site = web()
    site.robots("User-agent: *\nCrawl-delay: 0.3\n")
    fetch_many([site.page(f"/p{i}") for i in range(3)], delay=0.0)
    times = [h.t for h in site.hits()]
    assert len(times) == 4
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.3 - SKEW


def test_robots_5xx_disallows_everything_for_the_run(web):
    site = web()
    site.robots("oops", status=503)
    results = fetch_many([site.page("/a"), site.page("/b")])
    assert all(r.outcome is Status.ROBOTS_DISALLOWED for r in results)
    assert [h.path for h in site.hits()] == ["/robots.txt"]


def test_robots_404_allows_everything(web):
    site = web()                                  # fallback answers 404 for /robots.txt
    r = fetch_one(site.page("/a"))
    assert r.status_code == 200
    assert [h.path for h in site.hits()] == ["/robots.txt", "/a"]


def test_ignore_robots_skips_the_file(web):
    site = web()
    site.robots("User-agent: *\nDisallow: /\n")
    r = fetch_one(site.page("/a"), respect_robots=False)
    assert r.status_code == 200 and site.hits("/robots.txt") == []


def test_unreachable_robots_reports_the_transport_failure():
    policy = policy_from(Fetched("http://x/robots.txt", outcome=Status.CONNECTION_ERROR,
                                 error="refused"))
    assert policy.failure is Status.CONNECTION_ERROR and not policy.allows("http://x/", "crawler")


def test_policy_table():
    ok = policy_from(Fetched("u", status_code=200, body=b"User-agent: *\nDisallow: /a\n"))
    assert ok.allows("http://x/b", "crawler") and not ok.allows("http://x/a", "crawler")
    assert policy_from(Fetched("u", status_code=401)).allows("http://x/a", "crawler")
    assert not policy_from(Fetched("u", status_code=500)).allows("http://x/a", "crawler")
    assert RobotsPolicy().allows("http://x/", "crawler")
