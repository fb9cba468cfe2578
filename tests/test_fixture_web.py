"""The fixture web itself: several loopback hosts, request logs, hostile routes."""

import httpx

from server import Response


def test_two_hosts_are_separate_and_logged(web):
    a, b = web(), web()
    a.page("/x", title="A")
    b.page("/x", title="B")
    assert "<title>A</title>" in httpx.get(a.url("/x")).text
    assert "<title>B</title>" in httpx.get(b.url("/x")).text
    assert httpx.get(a.url("/missing")).status_code == 404
    assert [h.path for h in a.hits()] == ["/x", "/missing"]
    assert a.host != b.host


def test_etag_answers_304(web):
    s = web()
    url = s.etag("/e", '"v1"', b"hello")
    assert httpx.get(url).status_code == 200
    assert httpx.get(url, headers={"If-None-Match": '"v1"'}).status_code == 304


def test_sequence_then_repeats_last(web):
    s = web()
    url = s.sequence("/s", Response(503), Response(200, b"ok"))
    assert [httpx.get(url).status_code for _ in range(3)] == [503, 200, 200]
