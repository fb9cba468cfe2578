"""One citation's text -> its fields (authors, title, outlet, published, url, accessed, lang).

Why shapes, not templates: hand-written citations drift (a space inside a date, no comma
before the URL, 閲覧 for 参照, day-month-year dates), so each field is found by what it
looks like. Matching runs on a folded copy of the text (full-width digits and punctuation
made ASCII, one character for one, the URL blanked out) and every value is sliced from the
original, so a title keeps exactly the characters the author typed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from crawler.model import Citation

__all__ = ["fields_of", "find_dates", "find_url", "lang_of", "split_authors"]

_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xA0: 0x20}

# -- URL -------------------------------------------------------------------------------------

_ANGLE_URL = re.compile(r"<\s*(https?://[^\s<>]+?)\s*>", re.IGNORECASE)
_BARE_URL = re.compile(r"https?://[!#-;=?-~]+", re.IGNORECASE)      # printable ASCII but " < >
_URL_TAIL = ".,;:!?'"
# MLA leaves out the scheme: 'foreignpolicy.com/2025/12/11/putin/'; a path is required
_NO_SCHEME = re.compile(r"(?<![\w@/.-])(?:www\.)?(?:[a-z0-9-]+\.)+[a-z]{2,}/[!#-;=?-~]*", re.IGNORECASE)


def _trim_bare(url: str) -> str:
    """Drop sentence punctuation glued to a bare URL, a ')' it did not open, a '(' it never closed."""
    if url.count("(") > url.count(")"):
        url = url[:url.rindex("(")]
    while url and (url[-1] in _URL_TAIL or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def find_url(text: str, links: tuple[str, ...] = ()) -> tuple[str, tuple[int, int]]:
    """The cited URL and its span in text: the first in the text, else the first link target."""
    spans = [(m.start(), m.end(), m.group(1)) for m in _ANGLE_URL.finditer(text)]
    for m in _BARE_URL.finditer(text):
        if not any(s <= m.start() < e for s, e, _ in spans):
            url = _trim_bare(m.group(0))
            spans.append((m.start(), m.start() + len(url), url))
    if not spans:
        spans = [(m.start(), m.end(), "https://" + _trim_bare(m.group(0))) for m in _NO_SCHEME.finditer(text)]
    if spans:
        start, end, url = min(spans)
        longer = [link for link in links if link != url and link.startswith(url.rstrip("."))]
        return (longer[0] if longer else url), (start, end)
    return (links[0], (len(text), len(text))) if links else ("", (len(text), len(text)))


# -- dates -----------------------------------------------------------------------------------

_MONTHS = {name: i for i, names in enumerate(
    [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
     ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
     ("october", "oct"), ("november", "nov"), ("december", "dec")], 1) for name in names}
_MON = r"(?P<mon>[A-Za-z]{3,9})\.?"
_FULL_DATES = [
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"),
    re.compile(r"(?P<era>令和|平成)\s*(?P<ey>\d{1,2}|元)\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"),
    re.compile(rf"\b{_MON}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s*(?P<y>\d{{4}})\b"),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MON},?\s+(?P<y>\d{{4}})\b"),
    re.compile(r"(?<![\d/.-])(?P<y>\d{4})([-/.])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?![\d/-])"),
    re.compile(rf"\b(?P<y>\d{{4}}),\s+{_MON}\s+(?P<d>\d{{1,2}})\b"),          # APA: (2024, June 2)
]
_PARTIAL_DATES = [
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月"),
    re.compile(rf"\b{_MON},?\s+(?P<y>\d{{4}})\b"),
    re.compile(r"(?<=\()(?P<y>\d{4})(?=\))"),                                     # APA: (2024)
]
_ERAS = {"令和": 2018, "平成": 1988}
MIN_YEAR, MAX_YEAR = 1800, 2200        # outside this, four digits are an id, not a year

_ACCESS_BEFORE = re.compile(
    r"(?:accessed|retrieved|viewed|consulted|visited|last\s+(?:accessed|visited|checked)|参照日?"
    r"|最終閲覧日?|閲覧日?|最終アクセス日?|アクセス日?|取得日?|確認日?)(?:\s+on)?\s*:?\s*$", re.IGNORECASE)
_ACCESS_AFTER = re.compile(r"^\s*(?:に|時点で?)?\s*(?:最終)?(?:参照|閲覧|アクセス|取得|確認)")
_ACCESS_WORD = re.compile(r"[(\[]?\s*(?:accessed|retrieved|last\s+accessed|最終閲覧|閲覧日|参照日"
                          r"|最終アクセス)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Found:
    start: int
    end: int
    iso: str
    access: bool


def _iso(m: re.Match[str]) -> str:
    """The match as YYYY-MM-DD (YYYY-MM, YYYY when that is all), '' when it is no real date."""
    g = m.groupdict()
    year = _ERAS[g["era"]] + (1 if g["ey"] == "元" else int(g["ey"])) if g.get("era") else int(g["y"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        return ""
    if g.get("mon") is None and g.get("m") is None:
        return f"{year:04d}"
    month = _MONTHS.get(g["mon"].lower(), 0) if g.get("mon") else int(g["m"])
    if not 1 <= month <= 12:
        return ""
    if g.get("d") is None:
        return f"{year:04d}-{month:02d}"
    try:
        return dt.date(year, month, int(g["d"])).isoformat()
    except ValueError:
        return ""


def _matches(folded: str) -> Iterator[tuple[int, int, str]]:
    """Full dates first; a month is a date only where no day-precise match (valid or not) is."""
    taken: list[tuple[int, int]] = []
    for pattern in _FULL_DATES + _PARTIAL_DATES:
        for m in pattern.finditer(folded):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            iso = _iso(m)
            if iso or pattern in _FULL_DATES and "mon" not in m.groupdict():
                taken.append((m.start(), m.end()))
            if iso:
                yield m.start(), m.end(), iso


def find_dates(folded: str) -> list[Found]:
    """Every date in document order, each marked as an access date or not by its neighbours."""
    found = []
    for start, end, iso in _matches(folded):
        access = bool(_ACCESS_BEFORE.search(folded[max(0, start - 30):start])
                      or _ACCESS_AFTER.match(folded[end:end + 12]))
        found.append(Found(start, end, iso, access))
    return sorted(found, key=lambda f: f.start)


# -- title, outlet, authors ------------------------------------------------------------------

_PAIRS = {"「": "」", "“": "”", "『": "』", '"': '"', "‘": "’"}


def _closing(text: str, start: int) -> int:
    """Index of the bracket closing the one at start (nesting counted), -1 if unclosed.

    A ’ followed by a letter is an apostrophe (America’s), not the end of a ‘title’.
    """
    opener, closer, depth = text[start], _PAIRS[text[start]], 0
    for i in range(start + 1, len(text)):
        if closer == "’" and text[i] == closer and text[i + 1:i + 2].isalnum():
            continue
        if text[i] == closer and depth == 0:
            return i
        if opener != closer:
            depth += (text[i] == opener) - (text[i] == closer)
    return -1


def _title_span(text: str) -> tuple[int, int] | None:
    """The title's brackets: 「 or “ or '"' (else ‘); a lone 『』 only when no 「」 exists (a book)."""
    for openers in ("「“\"", "‘", "『"):
        for i, ch in enumerate(text):
            if ch in openers and (end := _closing(text, i)) > i + 1:
                return i, end
    return None


def _clean_title(title: str) -> str:
    """“Title,” -> Title: the comma or full stop belongs to the sentence, not the title."""
    title = title.strip().rstrip(",，、").rstrip()
    if title.endswith(".") and not re.search(r"(\b[A-Z]|\.\.)\.$", title):
        title = title[:-1]
    return title


_OUTLET_STRIP = " \t,、，.。:;(（[-–—*_"


def _outlet(text: str, after: int, stop: int) -> str:
    """『Outlet』 after the title; else the words between the title and the next date or URL."""
    m = re.compile(r"『").search(text, after, max(stop, after))
    if m and (end := _closing(text, m.start())) > 0:
        return text[m.start() + 1:end].strip()
    segment = text[after:stop].strip(_OUTLET_STRIP)
    return re.sub(r"^(?:in|In:)\s+", "", segment).strip(_OUTLET_STRIP)


_NAME_WORD = re.compile(r"^(?:[A-Z][\w'’.-]*|[A-Z]\.|de|da|di|van|von|der|den|du|le|la|bin|al|of)$")
_ET_AL = re.compile(r"\s*,?\s*\bet\s+al\.?$", re.IGNORECASE)
_AUTHOR_YEAR = re.compile(r"\s*[(（]\s*\d{4}[^)）]{0,20}[)）]\.?\s*$")     # 山田太郎（2024）「題名」
_INITIALS = re.compile(r"^(?:[A-Z]\.\s*)+$")
_TRAILING_STOP = re.compile(r"(?<!\b[A-Z])(?<!\bal)(?<!\bJr)(?<!\bSr)\.$")   # APA 'World Bank.'; not 'J.'


def _and_split(part: str) -> list[str]:
    """Split 'A and B' only when both sides read as names: not 'Center for Strategic and ...'."""
    pieces = [p.strip() for p in re.split(r"\s+and\s+", part)]
    if len(pieces) > 1 and all(p and all(_NAME_WORD.match(w) for w in p.split()) for p in pieces):
        return pieces
    return [part]


def split_authors(segment: str) -> tuple[str, ...]:
    """'A, B & C' / 'A、B' / 'A and B' / 'A et al.' -> names; 'Smith, J.' stays one name."""
    segment = re.sub(r"^(?:by|written by)\s+", "", segment.strip(" \t、,，:：;"), flags=re.IGNORECASE)
    segment = _AUTHOR_YEAR.sub("", segment).strip(" \t、,，:：;")
    et_al = _ET_AL.search(segment)
    segment = segment[:et_al.start()] if et_al else segment
    names: list[str] = []
    parts = re.split(r"\s*[、,，;；&＆]\s*", segment)
    if len(parts) >= 2 and all(re.fullmatch(r"[A-Z][\w'’-]+\.?", p) for p in parts[:2]):
        parts[:2] = [f"{parts[0]}, {parts[1].rstrip('.')}"]      # MLA: 'Hirsh, Michael.'
    for part in parts:
        part = re.sub(r"^and\s+", "", part.strip())
        if names and _INITIALS.match(part):
            names[-1] = f"{names[-1]}, {part}"
        elif part:
            names.extend(_and_split(_TRAILING_STOP.sub("", part)))
    return tuple(names) + (("et al.",) if et_al and names else ())


# -- the whole citation ----------------------------------------------------------------------

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff「」『』]")


def lang_of(text: str) -> str:
    return "ja" if _JAPANESE.search(text) else "en"


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the parts sit: authors end at `authors_end`, the title is text[start:end]."""

    authors_end: int
    start: int
    end: int
    after: int            # first index past the title and its closing mark


_APA_DATE = re.compile(r"\(\s*(?:\d{4}[^()]{0,20}|n\.\s?d\.)\)\.?\s*")
_SENTENCE_END = re.compile(r"(?<![A-Z])[.?!](?=\s|$)")


def _layout(folded: str) -> _Layout | None:
    """A quoted title (「」 “” "" ‘’), else the APA shape 'Authors (2024). Title. Outlet.'"""
    span = _title_span(folded)
    if span:
        return _Layout(span[0], span[0] + 1, span[1], span[1] + 1)
    m = _APA_DATE.search(folded)
    end = _SENTENCE_END.search(folded, m.end()) if m else None
    if m and end and end.start() > m.end():
        return _Layout(m.start(), m.end(), end.start(), end.end())
    return None


def fields_of(text: str, links: tuple[str, ...] = ()) -> Citation:
    """A Citation of everything found (id left empty); a field not found is '' or ()."""
    url, (u0, u1) = find_url(text, links)
    folded = (text[:u0] + " " * (u1 - u0) + text[u1:]).translate(_FOLD)
    layout = _layout(folded)
    dates = find_dates(folded)
    t0, t1 = (layout.start, layout.end) if layout else (0, -1)
    outside = [d for d in dates if not t0 <= d.start <= t1]
    published = next((d for d in outside if not d.access and d.start > t1), None) \
        or next((d for d in outside if not d.access), None)
    stops = [d.start for d in outside if d.start > t1] + [m.start() for m in
                                                           _ACCESS_WORD.finditer(folded, t1 + 1)]
    stop = min(stops + ([u0] if u0 > t1 else []) + [len(text)])
    return Citation(
        id="",
        authors=split_authors(text[:layout.authors_end]) if layout else (),
        title=_clean_title(text[t0:t1]) if layout else "",
        outlet=_outlet(text, layout.after, stop) if layout else "",
        published=published.iso if published else "",
        url=url,
        accessed=next((d.iso for d in dates if d.access), ""),
        lang=lang_of(text),
        raw=text,
    )
