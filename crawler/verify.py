"""The decision tree: (Citation, Fetched, Page) -> Verdict. Pure: no sockets, no clock
unless `today` is left out.

Order matters and follows what we can know: a transport failure first, then what the HTTP
status says, then what a 2xx page really is (bot wall, redirect to the home page, error page,
same as a path that cannot exist, paywall), and only then whether it is the cited article
(title) and whether it still says what was cited (dates).
"""

from __future__ import annotations

import datetime as dt
import random
import string
from dataclasses import replace

from crawler import dates, drift, sites, titles, urls
from crawler.extract import meta_refresh
from crawler.health import health, url_status
from crawler.model import Citation, DateVerdict, Fetched, Page, Status, Verdict, isonow

__all__ = ["HOME_SAME", "PROBE_SAME", "judge", "needs_probe", "page_status", "probe_url"]

PROBE_LETTERS = 25     # benhoyt/soft404 RANDOM_LETTERS: a path no site can have by chance
PROBE_SAME = 0.9       # sketch similarity at which a page "is" the host's not-found answer
PROBE_TITLE_SAME = 80  # ... provided the titles agree too ("Not found: /qwerty" ~ "Not found: /peace")
HOME_SAME = 0.9        # ... or the host's home page
PERMANENT = frozenset({301, 308})
BLOCK_CODES = frozenset({401, 403, 429})   # Reuters/WSJ answer bots 401 (sites.md §1, §10)
BODY_HEAD = 65536      # bytes of raw markup searched for challenge scripts


def probe_url(url: str) -> str:
    """Random letters under the URL's parent directory (Bar-Yossef et al. 2004; benhoyt/soft404)."""
    letters = "".join(random.choices(string.ascii_lowercase, k=PROBE_LETTERS))
    return urls.parent_dir(url) + letters


def needs_probe(citation: Citation, fetched: Fetched, page: Page | None) -> bool:
    """A probe is worth one request only when a 2xx deep page is not plainly the article.

    Not for transport failures, hard 4xx/5xx, bot walls or pages already seen to be error
    pages; not when the title already matches (the page is real whatever the host does with
    nonsense paths).
    """
    if page is None or not fetched.answered or not 200 <= fetched.status_code < 300:
        return False
    if not urls.is_deep(citation.url or fetched.url):
        return False
    if page_status(citation, fetched, page)[0] is not Status.OK:
        return False
    if not citation.title:
        return True
    _, score = titles.best_title(citation.title, page, outlet=citation.outlet)
    return score < titles.DEFAULT_THRESHOLD


def _http_status(fetched: Fetched, page: Page | None) -> tuple[Status, str] | None:
    """Status from the code alone, or None for a 2xx that needs the page read."""
    code = fetched.status_code
    if 200 <= code < 300:
        return None
    if code in BLOCK_CODES:
        return Status.BLOCKED, f"http-{code}"
    if code == 404:
        return Status.NOT_FOUND, ""
    if code == 410:
        return Status.GONE, ""
    if code >= 500:
        wall = sites.bot_wall(page, fetched.headers, _head(fetched))
        return (Status.BLOCKED, f"http-{code}:{wall}") if wall else (Status.SERVER_ERROR, "")
    return Status.CLIENT_ERROR, f"http-{code}"


def _head(fetched: Fetched) -> str:
    return fetched.body[:BODY_HEAD].decode("utf-8", "replace")


def page_status(citation: Citation, fetched: Fetched, page: Page | None) -> tuple[Status, str]:
    """What a 2xx answer is, from the page alone (no probe, no home page): (status, rule)."""
    cited, final = citation.url or fetched.url, fetched.final_url or fetched.url
    final = meta_refresh(fetched.body, final) or final     # a 200 that redirects in HTML
    wall = sites.bot_wall(page, fetched.headers, _head(fetched)) or sites.bot_wall_url(final)
    if wall:
        return Status.BLOCKED, wall
    moved = not urls.same_article(cited, final)
    if moved and sites.paywall_url(final):
        return Status.PAYWALLED, sites.paywall_url(final)
    if moved and sites.error_url(final):
        return Status.SOFT_404, sites.error_url(final)
    if moved and urls.is_deep(cited) and urls.is_home(final):
        return Status.SOFT_404, "redirect-to-home"
    if moved and urls.is_deep(cited) and urls.is_section_index(final, cited):
        return Status.SOFT_404, "redirect-to-section"
    if page is None or (fetched.truncated and not page.titles and not page.text.strip()):
        # over the cap with nothing judgeable in the head we read: say so, don't call it ok
        return (Status.TOO_LARGE, "truncated") if fetched.truncated else (Status.OK, "")
    for check, prefix in ((sites.parked, "parked:"), (sites.error_page, "")):
        rule = check(page)
        if rule:
            return Status.SOFT_404, prefix + rule
    return Status.OK, ""


def _like_probe(fetched: Fetched, page: Page | None, probe: tuple[Fetched, Page | None]) -> str:
    """benhoyt/soft404's test: the host answers a nonsense path the way it answered ours."""
    pf, pp = probe
    if not pf.answered or not 200 <= pf.status_code < 300:
        return ""                     # an honest 404 for nonsense: the host has real 404s
    if urls.is_home(fetched.url) or len(fetched.hops) != len(pf.hops):
        return ""
    if fetched.hops and urls.same_article(fetched.final_url, pf.final_url):
        return "probe-same-redirect"
    if page is None or pp is None or not page.text or not pp.text:
        return ""
    # A different title is a different page even when a big template makes the texts alike.
    first, probe_first = _first_title(page), _first_title(pp)
    if first and probe_first and titles.score(first, probe_first) < PROBE_TITLE_SAME:
        return ""
    same = drift.similarity(drift.fingerprint(page.text), drift.fingerprint(pp.text)) >= PROBE_SAME
    return "probe-same-page" if same else ""


def _first_title(page: Page) -> str:
    return next((t for _, t in page.titles), "")


def _like_home(citation: Citation, page: Page, home: Page | None) -> str:
    """A deep URL answered with the home page itself (a 200 soft redirect)."""
    if home is None or not urls.is_deep(citation.url) or not page.text or not home.text:
        return ""
    same_title = _first_title(page) == _first_title(home)
    sim = drift.similarity(drift.fingerprint(page.text), drift.fingerprint(home.text))
    return "same-as-home" if same_title and sim >= HOME_SAME else ""


def _final_status(citation: Citation, fetched: Fetched, page: Page | None,
                  probe: tuple[Fetched, Page | None] | None, home: Page | None) -> tuple[Status, str]:
    if fetched.outcome is not None:
        return fetched.outcome, fetched.error
    by_code = _http_status(fetched, page)
    if by_code is not None:
        return by_code
    status, rule = page_status(citation, fetched, page)
    if status is not Status.OK:
        return status, rule
    soft = (_like_probe(fetched, page, probe) if probe else "") or (
        _like_home(citation, page, home) if page is not None else "")
    if soft:
        return Status.SOFT_404, soft
    wall = sites.paywall(page) if page is not None else ""
    if wall:
        return Status.PAYWALLED, wall
    if _moved_permanently(citation, fetched):
        return Status.REDIRECTED, ""
    return Status.OK, ""


def _moved_permanently(citation: Citation, fetched: Fetched) -> bool:
    final = fetched.final_url or fetched.url
    permanent = any(h.status_code in PERMANENT for h in fetched.hops)
    return permanent and not urls.same_article(citation.url or fetched.url, final)


def judge(citation: Citation, fetched: Fetched, page: Page | None, *,
          probe: tuple[Fetched, Page | None] | None = None, home: Page | None = None,
          title_threshold: float = titles.DEFAULT_THRESHOLD, today: dt.date | None = None) -> Verdict:
    """One citation's verdict for this run. health and drift are filled in by the caller."""
    status, why = _final_status(citation, fetched, page, probe, home)
    verdict = Verdict(
        id=citation.id, url=citation.url or fetched.url, status=status,
        final_url=fetched.final_url or fetched.url, http_status=fetched.status_code,
        redirects=fetched.hops, attempts=fetched.attempts, elapsed_ms=fetched.elapsed_ms,
        error=_error(why, fetched), checked_at=fetched.fetched_at or isonow(),
    )
    if page is not None and status is not Status.BLOCKED:
        verdict = _read_page(verdict, citation, page, home, title_threshold, today)
    state, _ = health([(verdict.checked_at, status)])
    return _replace(verdict, url_status=url_status(verdict, state))


def _error(why: str, fetched: Fetched) -> str:
    if fetched.error and why and why != fetched.error:
        return f"{why}; {fetched.error}"
    return why or fetched.error


def _read_page(v: Verdict, citation: Citation, page: Page, home: Page | None,
               threshold: float, today: dt.date | None) -> Verdict:
    """Title, dates and fingerprint: what the page says, for statuses where we saw it."""
    if citation.title:
        best, score = titles.best_title(citation.title, page, home=home, outlet=citation.outlet)
        match: bool | None = score >= threshold
    else:
        best, score, match = next((t for _, t in page.titles), ""), None, None
    article = v.status.is_ok or v.status is Status.PAYWALLED
    verdict = DateVerdict.NO_DATE
    if article:
        day = today or dt.date.today()
        verdict = dates.date_verdict(citation.published, citation.accessed,
                                     page.published, page.modified, day)
    return _replace(v, page_title=best, title_score=score, title_match=match,
                    published_found=page.published, modified_found=page.modified,
                    date_verdict=verdict, fingerprint=drift.fingerprint(page.text) if article else "")


def _replace(v: Verdict, **changes: object) -> Verdict:
    return replace(v, **changes)  # type: ignore[arg-type]
