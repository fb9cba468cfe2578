"""Date strings as publishers write them -> the page's local calendar date (YYYY-MM-DD).

The offset is kept, never converted to UTC: a story published 2025-01-14T20:00+09:00 is
dated the 14th by its readers, and that is the date a citation carries.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

__all__ = ["parse_date", "days_between"]

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
        return _valid(dt.datetime.fromtimestamp(seconds, dt.timezone.utc).date())
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
