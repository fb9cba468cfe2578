"""Date strings as publishers write them -> the page's local calendar date (YYYY-MM-DD).

The offset is kept, never converted to UTC: a story published 2025-01-14T20:00+09:00 is
dated the 14th by its readers, and that is the date a citation carries.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

from crawler.model import DateVerdict

__all__ = ["TOLERANCE_DAYS", "date_verdict", "days_between", "parse_date"]

MIN_YEAR, MAX_YEAR = 1990, 2100          # outside this, a "date" is an id or a typo
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T\s_])")
_BASIC = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})(?:$|T)")        # 20180619T055000+0900 (Nikkei 2018)
_SLASH = re.compile(r"^\s*(\d{4})[/.](\d{1,2})[/.](\d{1,2})\b")  # 2021/6/4 (RAND), 2018/06/18
_JA = re.compile(r"(\d{4})年\s*(\d{1,2})月\s*(\d{1,2})日")
_EPOCH = re.compile(r"^\s*(\d{10}|\d{13})\s*$")
_TEXT_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%B %d %Y")


def parse_date(value: str) -> str:
    """Best-effort ISO date, or '' when the string holds no plausible date."""
    value = (value or "").strip()
    if not value:
        return ""
    for pattern in (_ISO, _BASIC, _SLASH, _JA):
        m = pattern.search(value) if pattern is _JA else pattern.match(value)
        if m:
            return _ymd(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _EPOCH.match(value)
    if m:
        seconds = int(m.group(1)) / (1000 if len(m.group(1)) == 13 else 1)
        return _valid(dt.datetime.fromtimestamp(seconds, dt.UTC).date())
    return _parse_text(value)


def _parse_text(value: str) -> str:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
        return _valid(parsed.date())
    except (TypeError, ValueError, IndexError):
        pass
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", value.split(" at ")[0]).strip()
    for fmt in _TEXT_FORMATS:
        try:
            return _valid(dt.datetime.strptime(cleaned, fmt).date())
        except ValueError:
            continue
    return ""


def _ymd(y: int, m: int, d: int) -> str:
    try:
        return _valid(dt.date(y, m, d))
    except ValueError:
        return ""


def _valid(day: dt.date) -> str:
    return day.isoformat() if MIN_YEAR <= day.year <= MAX_YEAR else ""


def days_between(a: str, b: str) -> int | None:
    """b - a in days for two ISO dates (time part ignored); None if either is unusable."""
    try:
        return (dt.date.fromisoformat(b[:10]) - dt.date.fromisoformat(a[:10])).days
    except ValueError:
        return None


TOLERANCE_DAYS = 1   # time zones: a cited date and the page's local date may differ by one day


def date_verdict(cited_published: str, accessed: str, page_published: str, page_modified: str,
                 today: dt.date) -> DateVerdict:
    """Compare the citation's dates with the page's.

    citation_error first (the citation contradicts itself or the calendar), then a published
    date that disagrees, then a page changed after the access date, whose cited text may
    have drifted. no_date when the page declares neither date.
    """
    cited, acc = parse_date(cited_published), parse_date(accessed)
    published = cited or page_published
    early = days_between(acc, published) if acc and published else None
    if acc and (acc > today.isoformat() or (early is not None and early > TOLERANCE_DAYS)):
        return DateVerdict.CITATION_ERROR
    if not page_published and not page_modified:
        return DateVerdict.NO_DATE
    if cited and page_published:
        gap = days_between(cited, page_published)
        if gap is not None and abs(gap) > TOLERANCE_DAYS:
            return DateVerdict.PUBLISHED_MISMATCH
    if acc and page_modified and page_modified != page_published:
        gap = days_between(acc, page_modified)
        if gap is not None and gap > TOLERANCE_DAYS:
            return DateVerdict.MODIFIED_AFTER_ACCESS
    return DateVerdict.OK
