"""Save Page Now: have the archive capture healthy citations while their pages still answer.

Why this shape:
- A capture costs the archive far more than a lookup: one request in flight
  through an `ArchiveGate` (as the lookups), SAVE_INTERVAL seconds from one
  answer to the next request.
- After a 429 the run stops asking: the rest of this run's citations are
  SKIPPED, not pushed.
- Errors are values: every outcome is a `Saved` with a `SaveStatus`, never an
  exception that kills the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urljoin

import httpx

from crawler.memento import DEFAULT_ENDPOINTS, ArchiveGate
from crawler.model import Citation, Verdict

__all__ = ["SaveStatus", "Saved", "save_healthy", "save_page_now"]

SAVE_INTERVAL = 10.0      # Save Page Now is far more expensive for the archive


class SaveStatus(StrEnum):
    SAVED = "saved"
    RATE_LIMITED = "rate_limited"     # 429: we stop asking for this run
    REFUSED = "refused"               # the archive will not capture it (robots, exclusion)
    FAILED = "failed"                 # the archive or the network failed
    SKIPPED = "skipped"               # not asked: an earlier request was rate limited


@dataclass(frozen=True, slots=True)
class Saved:
    url: str
    status: SaveStatus
    archive_url: str = ""
    error: str = ""


async def save_page_now(client: httpx.AsyncClient, url: str, *, endpoint: str = "",
                        user_agent: str = "", gate: ArchiveGate | None = None) -> Saved:
    """Ask Save Page Now (GET <endpoint><url>) to capture `url`; the outcome is a value."""
    save = (endpoint or DEFAULT_ENDPOINTS["save"]).rstrip("/") + "/" + url
    hdrs = {"User-Agent": user_agent} if user_agent else {}
    try:
        async with gate or ArchiveGate(0):
            r = await client.get(save, headers=hdrs, follow_redirects=False, timeout=120.0)
    except httpx.HTTPError as e:
        return Saved(url, SaveStatus.FAILED, error=f"{type(e).__name__}: {e}".rstrip(": "))
    where = r.headers.get("content-location") or r.headers.get("location") or ""
    if r.status_code < 400:
        return Saved(url, SaveStatus.SAVED, urljoin(save, where) if where else "")
    kind = {429: SaveStatus.RATE_LIMITED, 403: SaveStatus.REFUSED, 451: SaveStatus.REFUSED}
    return Saved(url, kind.get(r.status_code, SaveStatus.FAILED),
                 error=f"save page now answered {r.status_code}")


async def save_healthy(client: httpx.AsyncClient, items: Iterable[tuple[Citation, Verdict]], *,
                       endpoint: str = "", user_agent: str,
                       gate: ArchiveGate | None = None) -> list[Saved]:
    """Capture each healthy citation once, slowly; after a 429 the rest are SKIPPED, not pushed."""
    gate = gate or ArchiveGate(SAVE_INTERVAL)
    results: list[Saved] = []
    limited = False
    for citation, verdict in items:
        if not verdict.status.is_ok:
            continue
        url = verdict.final_url or citation.url
        if limited:
            results.append(Saved(url, SaveStatus.SKIPPED, error="rate limited earlier"))
            continue
        result = await save_page_now(client, url, endpoint=endpoint, user_agent=user_agent,
                                     gate=gate)
        limited = result.status == SaveStatus.RATE_LIMITED
        results.append(result)
    return results
