"""Archived copies of failing citations (Memento, RFC 7089), looked up politely and cached.

Why this shape:
- The capture we want is the page *as the author saw it*: the closest capture
  at or before the access date with a usable status (200/203/206), else the
  closest after it (InternetArchiveBot's rule). The CDX API lets us ask for
  exactly that; the availability API and a TimeGate only give "closest", which
  we accept as a fallback source.
- The archive is one shared host: one request in flight, a minimum interval,
  an honest User-Agent (`ArchiveGate`). Answers are cached in `archives` so a
  daily run does not ask again within `max_age`.
- Errors are values: a down or garbled archive gives `Lookup(None, error)`,
  recorded in the table, never an exception that kills the run.
- Asking the archive to make a capture (Save Page Now) is save_page_now's job;
  it goes through the same `ArchiveGate` and the same `DEFAULT_ENDPOINTS` table.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import httpx
from sqlite_utils import Database

from crawler.model import Citation, Verdict, isonow, utcnow

__all__ = ["DEFAULT_ENDPOINTS", "ArchiveGate", "Lookup", "Memento", "ensure_tables",
           "find_archived", "known_archives", "lookup", "lookup_failing", "needs_archive"]

DEFAULT_ENDPOINTS = {
    "cdx": "https://web.archive.org/cdx/search/cdx",
    "availability": "https://archive.org/wayback/available",
    "timegate": "https://web.archive.org/web/",
    "save": "https://web.archive.org/save/",
}
USABLE_STATUS = frozenset({200, 203, 206})   # IABot: a capture of an error page is no copy
MIN_INTERVAL = 1.0        # seconds between requests to the archive host
MAX_AGE = dt.timedelta(days=7)   # reuse a found/none answer this long
TIMEOUT = 30.0
_CDX_FIELDS = "urlkey,timestamp,original,mimetype,statuscode,digest,length"
_TS = re.compile(r"/(\d{14})(?:[a-z]{2}_)?/")
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_PARAM = re.compile(r"""([\w*-]+)\s*=\s*(?:"([^"]*)"|([^;\s]+))""")


@dataclass(frozen=True, slots=True)
class Memento:
    """One archived copy: the robust-link triple (original, archive URL, date)."""

    original: str
    archive_url: str
    archive_date: str          # ISO UTC datetime of the capture
    status_code: int = 0       # capture's HTTP status when the archive says (0: unknown)
    source: str = "cdx"        # cdx | availability | timegate


@dataclass(frozen=True, slots=True)
class Lookup:
    memento: Memento | None
    error: str = ""            # why the archive could not answer; '' when it did


class ArchiveGate:
    """One request in flight to the archive; `interval` s from one answer to the next request.

    Counted from the end of the previous request, so a slow (loaded) archive
    automatically gets asked less often.
    """

    def __init__(self, interval: float = MIN_INTERVAL) -> None:
        self.interval = interval
        self._lock = asyncio.Lock()
        self._last = -float("inf")

    async def __aenter__(self) -> Self:
        await self._lock.acquire()
        wait = self._last + self.interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._last = time.monotonic()
        self._lock.release()


def ensure_tables(db: Database) -> None:
    """The `archives` cache: one row per (url, access date) lookup."""
    db.table("archives").create({
        "url": str, "accessed": str, "kind": str, "archive_url": str, "archive_date": str,
        "archive_status": int, "status": str, "error": str, "looked_up_at": str,
    }, pk=("url", "accessed"), not_null={"url", "accessed", "status", "looked_up_at"},
        if_not_exists=True)
    db.table("archives").create_index(["status", "url"], if_not_exists=True)


# -- one lookup ----------------------------------------------------------------
async def find_archived(client: httpx.AsyncClient, url: str, accessed: str, *,
                        endpoint: str = "", kind: str = "cdx", gate: ArchiveGate | None = None,
                        user_agent: str = "") -> Memento | None:
    """The best archived copy of `url` for an access date, or None (also when the archive fails)."""
    found = await lookup(client, url, accessed, endpoint=endpoint, kind=kind, gate=gate,
                         user_agent=user_agent)
    return found.memento


async def lookup(client: httpx.AsyncClient, url: str, accessed: str, *, endpoint: str = "",
                 kind: str = "cdx", gate: ArchiveGate | None = None,
                 user_agent: str = "") -> Lookup:
    """Like find_archived, but says why nothing came back (archive error vs. no capture)."""
    ask = _Asker(client, gate or ArchiveGate(0), user_agent)
    strategy = _STRATEGIES.get(kind)
    if strategy is None:
        return Lookup(None, f"unknown archive kind {kind!r}")
    try:
        ts = _timestamp(accessed)
    except ValueError:
        return Lookup(None, f"access date {accessed!r} is not an ISO date")
    try:
        return Lookup(await strategy(ask, url, ts, endpoint or DEFAULT_ENDPOINTS[kind]))
    except httpx.HTTPError as e:
        return Lookup(None, f"{kind} archive: {type(e).__name__}: {e}".rstrip(": "))
    except (ValueError, KeyError, TypeError, IndexError) as e:
        return Lookup(None, f"{kind} archive: unreadable answer ({type(e).__name__}: {e})")


class _Asker:
    """GETs through the gate with the honest User-Agent; non-2xx/3xx is an archive error."""

    def __init__(self, client: httpx.AsyncClient, gate: ArchiveGate, user_agent: str) -> None:
        self.client, self.gate, self.user_agent = client, gate, user_agent

    async def get(self, url: str, params: Any = None,
                  headers: dict[str, str] | None = None) -> httpx.Response:
        hdrs = {"User-Agent": self.user_agent} if self.user_agent else {}
        async with self.gate:
            r = await self.client.get(url, params=params, headers={**hdrs, **(headers or {})},
                                      follow_redirects=False, timeout=TIMEOUT)
        if r.status_code >= 400 and r.status_code != 404:
            raise httpx.HTTPStatusError(f"answered {r.status_code}", request=r.request,
                                        response=r)
        return r


async def _cdx(ask: _Asker, url: str, ts: str, endpoint: str) -> Memento | None:
    """Closest usable capture at/before `ts` (last of `to=ts`), else first after (`from=ts`)."""
    status_filter = "statuscode:(" + "|".join(map(str, sorted(USABLE_STATUS))) + ")"
    base = {"url": url, "output": "json", "fl": _CDX_FIELDS, "filter": status_filter}
    for extra, pick in (({"to": ts, "limit": "-1"}, max), ({"from": ts, "limit": "1"}, min)):
        r = await ask.get(endpoint, params={**base, **extra})
        rows = _cdx_rows(r)
        # the filter is re-applied here: a CDX server may ignore it
        good = [x for x in rows if x["statuscode"].isdigit()
                and int(x["statuscode"]) in USABLE_STATUS
                and (x["timestamp"] <= ts if pick is max else x["timestamp"] >= ts)]
        if good:
            best = pick(good, key=lambda x: x["timestamp"])
            # replay under the cited URL: Wayback canonicalises, and no ':80' leaks into footnotes
            return Memento(url, _replay_url(endpoint, best["timestamp"], url),
                           _iso(best["timestamp"]), int(best["statuscode"]), "cdx")
    return None


def _cdx_rows(r: httpx.Response) -> list[dict[str, str]]:
    """JSON output: a header row of field names, then one list per capture ([] when none)."""
    if r.status_code == 404 or not r.content.strip():
        return []
    data = r.json()
    if not data:
        return []
    head = data[0]
    return [dict(zip(head, row)) for row in data[1:] if len(row) == len(head)]


def _replay_url(endpoint: str, timestamp: str, url: str) -> str:
    """Wayback replay URL next to the CDX endpoint: <host>/web/<timestamp>/<original>."""
    if endpoint.endswith("/cdx/search/cdx"):
        root = endpoint[: -len("/cdx/search/cdx")]
    else:
        parts = urlsplit(endpoint)
        root = f"{parts.scheme}://{parts.netloc}"
    return f"{root.rstrip('/')}/web/{timestamp}/{url}"     # not urljoin: it eats '//'


async def _availability(ask: _Asker, url: str, ts: str, endpoint: str) -> Memento | None:
    """`archived_snapshots.closest` (either side of `ts`); unusable statuses are no copy."""
    r = await ask.get(endpoint, params={"url": url, "timestamp": ts})
    if r.status_code == 404:
        return None
    closest = (r.json().get("archived_snapshots") or {}).get("closest")
    if not closest or not closest.get("available", True):
        return None
    status = int(closest.get("status") or 0)
    if status and status not in USABLE_STATUS:
        return None
    return Memento(url, closest["url"], _iso(closest["timestamp"]), status, "availability")


async def _timegate(ask: _Asker, url: str, ts: str, endpoint: str) -> Memento | None:
    """Datetime negotiation: Accept-Datetime in, 302 + Location (URI-M) out."""
    when = format_datetime(_parse_ts(ts), usegmt=True)
    r = await ask.get(endpoint.rstrip("/") + "/" + url, headers={"Accept-Datetime": when})
    if r.status_code == 404:
        return None
    location = r.headers.get("location")
    if r.is_redirect and location:
        memento_url = urljoin(str(r.request.url), location)
    elif r.headers.get("memento-datetime"):            # URI-G = URI-M pattern
        memento_url = str(r.request.url)
    else:
        raise ValueError(f"no memento in a {r.status_code} answer")
    return Memento(url, memento_url, _memento_date(r, memento_url), 0, "timegate")


def _memento_date(r: httpx.Response, memento_url: str) -> str:
    """Memento-Datetime, else the Link entry for the memento, else its URL's timestamp."""
    if r.headers.get("memento-datetime"):
        return parsedate_to_datetime(r.headers["memento-datetime"]).isoformat()
    for target, params in _links(r.headers.get("link", "")):
        if target == memento_url and "datetime" in params:
            return parsedate_to_datetime(params["datetime"]).isoformat()
    m = _TS.search(memento_url)
    if not m:
        raise ValueError("memento without a datetime")
    return _iso(m.group(1))


def _links(header: str) -> list[tuple[str, dict[str, str]]]:
    """RFC 8288 Link header -> [(target, {param: value})]; enough for Memento's use."""
    return [(target, {k.lower(): a or b for k, a, b in _PARAM.findall(params)})
            for target, params in _LINK.findall(header)]


_STRATEGIES = {"cdx": _cdx, "availability": _availability, "timegate": _timegate}


# -- dates -------------------------------------------------------------------
def _timestamp(accessed: str) -> str:
    """Access date -> 14-digit Wayback timestamp; a bare date means the end of that day."""
    if not accessed:
        return utcnow().strftime("%Y%m%d%H%M%S")
    if len(accessed) == 10:
        return accessed.replace("-", "") + "235959"
    when = dt.datetime.fromisoformat(accessed)
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when.strftime("%Y%m%d%H%M%S")


def _parse_ts(ts: str) -> dt.datetime:
    ts = (ts + "00000101000000"[len(ts):]) if len(ts) < 14 else ts[:14]
    return dt.datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)


def _iso(ts: str) -> str:
    return _parse_ts(ts).isoformat()


# -- many lookups, cached ----------------------------------------------------------
def needs_archive(verdict: Verdict) -> bool:
    """A failing citation worth an archived copy: a dead candidate, not an inconclusive one."""
    return verdict.status.is_dead_candidate


async def lookup_failing(db: Database, items: Iterable[tuple[Citation, Verdict]],
                         client: httpx.AsyncClient, *, endpoint: str = "", kind: str = "cdx",
                         user_agent: str, gate: ArchiveGate | None = None,
                         max_age: dt.timedelta = MAX_AGE) -> dict[str, Memento]:
    """Archived copies for the failing citations, by cited URL; cached answers are reused.

    Found and not-found answers are reused for `max_age`; an archive error is
    recorded but retried on the next call.
    """
    ensure_tables(db)
    gate = gate or ArchiveGate()
    found: dict[str, Memento] = {}
    for citation, verdict in items:
        url = citation.url or verdict.url
        if not url or not needs_archive(verdict):
            continue
        row = next(db.table("archives").rows_where("url = ? and accessed = ?",
                                                   [url, citation.accessed]), None)
        memento = _from_row(row) if row else None
        if row is None or not _fresh(row, max_age):
            result = await lookup(client, url, citation.accessed, endpoint=endpoint, kind=kind,
                                  gate=gate, user_agent=user_agent)
            if result.memento or not (result.error and memento):    # a down archive keeps
                _record(db, url, citation.accessed, kind, result)   # the copy we knew
                memento = result.memento
        if memento:
            found[url] = memento
    return found


def _fresh(row: dict[str, Any], max_age: dt.timedelta) -> bool:
    """A found/none answer younger than max_age; errors are never fresh."""
    age = utcnow() - dt.datetime.fromisoformat(row["looked_up_at"])
    return row["status"] != "error" and age <= max_age


def _from_row(row: dict[str, Any]) -> Memento | None:
    if row["status"] != "found":
        return None
    return Memento(row["url"], row["archive_url"], row["archive_date"],
                   row["archive_status"] or 0, row["kind"])


def _record(db: Database, url: str, accessed: str, kind: str, result: Lookup) -> None:
    m = result.memento
    status = "found" if m else ("error" if result.error else "none")
    db.table("archives").upsert({
        "url": url, "accessed": accessed, "kind": kind,
        "archive_url": m.archive_url if m else "", "archive_date": m.archive_date if m else "",
        "archive_status": m.status_code if m else 0, "status": status,
        "error": result.error, "looked_up_at": isonow()}, pk=("url", "accessed"))


def known_archives(db: Database) -> dict[str, Memento]:
    """Every archived copy found so far, by cited URL: what report and suggest show."""
    ensure_tables(db)
    rows = db.table("archives").rows_where("status = 'found'", order_by="looked_up_at")
    return {r["url"]: m for r in rows if (m := _from_row(r))}
