"""Archive lookups against a local fake archive that answers in the real APIs' formats.

Formats (from the APIs' documentation):
- Wayback CDX server, `output=json`: a header row [urlkey, timestamp, original,
  mimetype, statuscode, digest, length] then one row per capture; `from`/`to`
  (inclusive, padded 14-digit), `filter=[!]field:regex` (full match),
  `limit=N` first N, `limit=-N` last N.
- Availability API: {"url": ..., "archived_snapshots": {"closest": {"status",
  "available", "url", "timestamp"}}}; {} when nothing.
- Memento TimeGate (RFC 7089): Accept-Datetime in; 302, Location (URI-M),
  Vary: accept-datetime, Link rel="original"/"timemap"/"memento".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from server import Response, Site
from sqlite_utils import Database

from crawler.memento import (
    ArchiveGate,
    Memento,
    find_archived,
    known_archives,
    lookup,
    lookup_failing,
)
from crawler.model import Citation, Status, Verdict
from crawler.save_page_now import SaveStatus, save_healthy, save_page_now

UA = "crawler-test/0.1 (+https://example.invalid/bot)"
CITED = "http://news.test/article/1"


class FakeArchive:
    """A Wayback-like archive on one loopback site: CDX, availability, TimeGate, save."""

    def __init__(self, site: Site, captures: list[tuple[str, int]]):
        self.site = site
        self.captures = sorted(captures)            # (14-digit timestamp, status)
        self.down = False
        site.route("/cdx/search/cdx", self.cdx)
        site.route("/wayback/available", self.available)
        site.fallback = self.timegate

    @property
    def cdx_endpoint(self) -> str:
        return self.site.url("/cdx/search/cdx")

    def rows(self, url: str) -> list[list[str]]:
        key = "test,news)" + urlsplit(url).path
        return [[key, ts, url, "text/html", str(code), "DIGEST" + ts, "1234"]
                for ts, code in self.captures]

    def cdx(self, h) -> Response:
        if self.down:
            return Response(503, b"<h1>Service Unavailable</h1>")
        q = parse_qs(urlsplit(h.path).query)
        rows = self.rows(q["url"][0])
        if "from" in q:
            rows = [r for r in rows if r[1] >= q["from"][0].ljust(14, "0")]
        if "to" in q:
            rows = [r for r in rows if r[1] <= q["to"][0].ljust(14, "9")]
        fields = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
        for f in q.get("filter", []):
            neg, name, rx = re.fullmatch(r"(!?)(\w+):(.*)", f).groups()
            i = fields.index(name)
            rows = [r for r in rows if bool(re.fullmatch(rx, r[i])) != bool(neg)]
        limit = int(q.get("limit", ["0"])[0])
        rows = rows[:limit] if limit > 0 else rows[limit:] if limit < 0 else rows
        body = json.dumps([fields, *rows] if rows else []).encode()
        return Response(200, body, {"Content-Type": "application/json"})

    def closest(self, ts: str) -> tuple[str, int] | None:
        def secs(t: str) -> float:
            return dt.datetime.strptime(t.ljust(14, "0"), "%Y%m%d%H%M%S").timestamp()
        return min(self.captures, key=lambda c: abs(secs(c[0]) - secs(ts)), default=None)

    def available(self, h) -> Response:
        q = parse_qs(urlsplit(h.path).query)
        best = self.closest(q.get("timestamp", ["20991231"])[0])
        snaps = {} if best is None else {"closest": {
            "status": str(best[1]), "available": True, "timestamp": best[0],
            "url": self.site.url(f"/web/{best[0]}/{q['url'][0]}")}}
        body = json.dumps({"url": q["url"][0], "archived_snapshots": snaps}).encode()
        return Response(200, body, {"Content-Type": "application/json"})

    def timegate(self, h) -> Response:
        if not h.path.startswith("/timegate/"):
            return Response(404, b"not here")
        original = h.path[len("/timegate/"):]
        wanted = parsedate_to_datetime(h.headers["Accept-Datetime"])
        best = self.closest(wanted.strftime("%Y%m%d%H%M%S"))
        if best is None:
            return Response(404, b"no mementos")
        memento = self.site.url(f"/web/{best[0]}/{original}")
        when = format_datetime(dt.datetime.strptime(best[0], "%Y%m%d%H%M%S").replace(
            tzinfo=dt.UTC), usegmt=True)
        link = (f'<{original}>; rel="original", <{self.site.url("/timemap/link/" + original)}>;'
                f' rel="timemap"; type="application/link-format", <{memento}>; rel="memento";'
                f' datetime="{when}"')
        return Response(302, b"", {"Location": memento, "Vary": "accept-datetime",
                                   "Link": link, "Memento-Datetime": when})


def run(coro):
    return asyncio.run(coro)


async def find(url: str, accessed: str, **kw) -> Memento | None:
    async with httpx.AsyncClient() as client:
        return await find_archived(client, url, accessed, user_agent=UA, **kw)


@pytest.mark.parametrize("captures, accessed, expected", [
    # closest before, skipping a 404 and a redirect capture nearer the access date
    ([("20250101000000", 200), ("20251201000000", 404), ("20251220000000", 302),
      ("20251230000000", 200)], "2025-12-22", "20250101000000"),
    # a capture on the access day itself counts as "before" (the author saw that day)
    ([("20251222183000", 200), ("20251223000000", 200)], "2025-12-22", "20251222183000"),
    # 203 and 206 are usable copies too
    ([("20240101000000", 200), ("20251001000000", 206)], "2025-12-22", "20251001000000"),
    # nothing usable before: the closest usable after
    ([("20251201000000", 500), ("20260105000000", 404), ("20260110000000", 200),
      ("20260301000000", 200)], "2025-12-22", "20260110000000"),
])
def test_cdx_prefers_closest_usable_capture_before_access(web, captures, accessed, expected):
    fake = FakeArchive(web(), captures)
    m = run(find(CITED, accessed, endpoint=fake.cdx_endpoint))
    assert m is not None
    assert m.archive_url == fake.site.url(f"/web/{expected}/{CITED}")
    assert m.archive_date == dt.datetime.strptime(expected, "%Y%m%d%H%M%S").replace(
        tzinfo=dt.UTC).isoformat()
    assert m.original == CITED and m.source == "cdx"
    assert all(h.headers["user-agent"] == UA for h in fake.site.hits())


def test_cdx_no_usable_capture_is_none_not_error(web):
    fake = FakeArchive(web(), [("20250101000000", 404)])
    async def go():
        async with httpx.AsyncClient() as c:
            return await lookup(c, CITED, "2025-12-22", endpoint=fake.cdx_endpoint)
    assert run(go()).memento is None and run(go()).error == ""


def test_availability_api(web):
    fake = FakeArchive(web(), [("20230101000000", 200), ("20251220101010", 200)])
    url = fake.site.url("/wayback/available")
    m = run(find(CITED, "2025-12-22", endpoint=url, kind="availability"))
    assert m == Memento(CITED, fake.site.url(f"/web/20251220101010/{CITED}"),
                        "2025-12-20T10:10:10+00:00", 200, "availability")
    bad = FakeArchive(web(), [("20251220101010", 404)])
    assert run(find(CITED, "2025-12-22", endpoint=bad.site.url("/wayback/available"),
                    kind="availability")) is None


def test_timegate_datetime_negotiation(web):
    fake = FakeArchive(web(), [("20231111111111", 200), ("20251221000000", 200)])
    m = run(find(CITED, "2025-12-22", endpoint=fake.site.url("/timegate/"), kind="timegate"))
    assert m is not None and m.source == "timegate"
    assert m.archive_url == fake.site.url(f"/web/20251221000000/{CITED}")
    assert m.archive_date == "2025-12-21T00:00:00+00:00"
    [hit] = fake.site.hits()
    assert parsedate_to_datetime(hit.headers["accept-datetime"]) == dt.datetime(
        2025, 12, 22, 23, 59, 59, tzinfo=dt.UTC)
    empty = FakeArchive(web(), [])
    assert run(find(CITED, "2025-12-22", endpoint=empty.site.url("/timegate/"),
                    kind="timegate")) is None


def test_archive_down_is_none_with_error(web):
    fake = FakeArchive(web(), [("20250101000000", 200)])
    fake.down = True
    async def go(endpoint: str):
        async with httpx.AsyncClient() as c:
            return await lookup(c, CITED, "2025-12-22", endpoint=endpoint)
    down = run(go(fake.cdx_endpoint))
    assert down.memento is None and "503" in down.error
    closed = Site("127.0.0.250")
    endpoint = closed.url("/cdx/search/cdx")
    closed.close()                                  # nothing listens there any more
    refused = run(go(endpoint))
    assert refused.memento is None and "ConnectError" in refused.error
    assert run(find(CITED, "2025-12-22", endpoint=endpoint)) is None


def verdict(cid: str, url: str, status: Status) -> Verdict:
    return Verdict(id=cid, url=url, status=status)


def test_lookup_failing_caches_and_skips_healthy(web, tmp_path):
    fake = FakeArchive(web(), [("20250101000000", 200)])
    db = Database(tmp_path / "crawler.db")
    items = [(Citation("1", url=CITED, accessed="2025-12-22"), verdict("1", CITED, Status.NOT_FOUND)),
             (Citation("2", url="http://ok.test/", accessed="2025-12-22"),
              verdict("2", "http://ok.test/", Status.OK)),
             (Citation("3", url="http://wall.test/", accessed="2025-12-22"),
              verdict("3", "http://wall.test/", Status.BLOCKED))]

    async def go():
        async with httpx.AsyncClient() as c:
            return await lookup_failing(db, items, c, endpoint=fake.cdx_endpoint, user_agent=UA,
                                        gate=ArchiveGate(0))
    first = run(go())
    asked = len(fake.site.hits())
    assert list(first) == [CITED] and asked == 1       # only the dead one; found on 1st query
    assert run(go()) == first
    assert len(fake.site.hits()) == asked               # cached: no second lookup
    [row] = db["archives"].rows
    assert row["status"] == "found" and row["accessed"] == "2025-12-22"
    assert known_archives(db) == first


def test_archive_error_is_recorded_and_retried_next_time(web, tmp_path):
    fake = FakeArchive(web(), [("20250101000000", 200)])
    fake.down = True
    db = Database(tmp_path / "crawler.db")
    items = [(Citation("1", url=CITED, accessed="2025-12-22"), verdict("1", CITED, Status.GONE))]

    async def go():
        async with httpx.AsyncClient() as c:
            return await lookup_failing(db, items, c, endpoint=fake.cdx_endpoint, user_agent=UA)
    assert run(go()) == {}
    [row] = db["archives"].rows
    assert row["status"] == "error" and "503" in row["error"]
    fake.down = False
    assert CITED in run(go())                           # errors are not cached
    assert next(db["archives"].rows)["status"] == "found"


def test_stale_copy_survives_a_down_archive(web, tmp_path):
    fake = FakeArchive(web(), [("20250101000000", 200)])
    db = Database(tmp_path / "crawler.db")
    items = [(Citation("1", url=CITED, accessed="2025-12-22"), verdict("1", CITED, Status.GONE))]

    async def go(**kw):
        async with httpx.AsyncClient() as c:
            return await lookup_failing(db, items, c, endpoint=fake.cdx_endpoint, user_agent=UA,
                                        **kw)
    known = run(go())
    fake.down = True
    assert run(go(max_age=dt.timedelta(0))) == known     # asked again, archive down: keep it
    assert len(fake.site.hits()) == 2
    assert next(db["archives"].rows)["status"] == "found"


def test_bad_access_date_is_an_error_value(web):
    async def go():
        async with httpx.AsyncClient() as c:
            return await lookup(c, CITED, "22 Dec 2025", endpoint=web().url("/cdx"))
    assert run(go()).error.startswith("access date")


def test_one_request_in_flight_with_minimum_interval(web, tmp_path):
    fake = FakeArchive(web(), [("20270101000000", 200)])   # forces before + after queries
    db = Database(tmp_path / "crawler.db")
    items = [(Citation(str(i), url=f"{CITED}{i}", accessed="2025-12-22"),
              verdict(str(i), f"{CITED}{i}", Status.NOT_FOUND)) for i in range(3)]

    async def go():
        async with httpx.AsyncClient() as c:
            return await lookup_failing(db, items, c, endpoint=fake.cdx_endpoint, user_agent=UA,
                                        gate=ArchiveGate(0.2))
    assert len(run(go())) == 3
    hits = fake.site.hits()
    assert len(hits) == 6 and fake.site.peak_in_flight == 1
    assert all(b.t - a.t >= 0.19 for a, b in itertools.pairwise(hits))


def test_shared_gate_serialises_concurrent_lookups(web):
    """Two workers looking up at once still put one request at a time on the archive."""
    fake = FakeArchive(web(), [("20250101000000", 200)])
    fake.site.routes["/cdx/search/cdx"] = lambda h: Response(**{**vars(fake.cdx(h)), "delay": 0.1})

    async def go():
        gate = ArchiveGate(0.05)
        async with httpx.AsyncClient() as c:
            return await asyncio.gather(*(find_archived(c, f"{CITED}{i}", "2025-12-22",
                                                        endpoint=fake.cdx_endpoint, gate=gate)
                                          for i in range(4)))
    assert all(run(go()))
    hits = fake.site.hits()
    assert len(hits) == 4 and fake.site.peak_in_flight == 1
    assert all(b.t - a.t >= 0.14 for a, b in itertools.pairwise(hits))   # 0.1 s answer + 0.05


def spn(site: Site, *codes: int) -> str:
    answers = []
    for code in codes:
        headers = {"Content-Location": f"/web/20251224000000/{CITED}"} if code == 200 else {}
        answers.append(Response(code, b"", headers))
    site.sequence("/save/" + CITED, *answers)
    return site.url("/save/")


def test_save_page_now_outcomes(web):
    async def save(endpoint: str):
        async with httpx.AsyncClient() as c:
            return await save_page_now(c, CITED, endpoint=endpoint, user_agent=UA)
    site = web()
    endpoint = spn(site, 200, 429, 523)
    ok = run(save(endpoint))
    assert ok.status == SaveStatus.SAVED
    assert ok.archive_url == site.url(f"/web/20251224000000/{CITED}")
    assert run(save(endpoint)).status == SaveStatus.RATE_LIMITED
    failed = run(save(endpoint))
    assert failed.status == SaveStatus.FAILED and "523" in failed.error
    assert site.hits()[0].headers["user-agent"] == UA


def test_save_healthy_stops_at_rate_limit(web):
    site = web()
    endpoint = spn(site, 429)
    items = [(Citation(str(i), url=f"{CITED}"), verdict(str(i), CITED, Status.OK)) for i in range(3)]
    items.append((Citation("9", url="http://dead.test/"), verdict("9", "http://dead.test/",
                                                                  Status.NOT_FOUND)))

    async def go():
        async with httpx.AsyncClient() as c:
            return await save_healthy(c, items, endpoint=endpoint, user_agent=UA,
                                      gate=ArchiveGate(0))
    results = run(go())
    assert [r.status for r in results] == [SaveStatus.RATE_LIMITED, SaveStatus.SKIPPED,
                                           SaveStatus.SKIPPED]
    assert len(site.hits()) == 1
