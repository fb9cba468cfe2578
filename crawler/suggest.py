"""Repair the article's footnote list in its own citation style (`crawler suggest`).

Why this shape: an editor pastes the output back over the footnotes, so every
line keeps the author's wording, punctuation and language; only the URL is
swapped (moved page), an archived copy is appended (dead page) or a marker is
added (dead with no copy, invalid URL, or a redirect to another article). A
healthy, failing-but-not-yet-dead or merely inconclusive footnote comes back
byte for byte. The functions are pure: verdicts and archives come in as data.

The product promise is that a link is called dead only after failing over several
runs and days, so one 404 is never enough: `dead` and `archived` need
`verdict.health == Health.DEAD`. An invalid URL is the citation's own error, which
no history can fix, so it is marked at once. A permanent redirect replaces the URL
only when the new page is still the cited article; when its title no longer
matches (`title_match is False`, another article) the footnote is marked for review.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum

from crawler.memento import Memento
from crawler.model import Citation, Health, Status, Verdict

__all__ = ["INVALID_MARKERS", "MARKERS", "REVIEW_MARKERS", "Action", "action", "fix_footnote",
           "suggest"]

MARKERS = {"ja": "[リンク切れ]", "en": " [dead link]"}                     # dead, no copy
INVALID_MARKERS = {"ja": "[URL不正]", "en": " [invalid URL]"}
REVIEW_MARKERS = {"ja": "[要確認: 転送先が別の記事]", "en": " [check: redirects to another article]"}
_NUMBER = re.compile(r"^\s*(\d+)[.．]\s*")
# What closes a footnote: its full stop and the article's "back to text" link.
_TAIL = re.compile(r"\s*[。.]?\s*(?:[(（]本文に戻る[)）])?\s*$")
_JA_HINT = re.compile(r"[「『』」]|参照")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


class Action(StrEnum):
    KEEP = "keep"            # healthy, failing but not yet dead, inconclusive: never touched
    MOVED = "moved"          # permanently redirected to the same article: URL replaced
    REVIEW = "review"        # permanently redirected to another article: marker, URL kept
    INVALID = "invalid"      # not a fetchable URL: the citation's own error, marker at once
    ARCHIVED = "archived"    # dead over history: archived copy appended
    DEAD = "dead"            # dead over history, no archived copy: marker appended


def action(verdict: Verdict | None, memento: Memento | None) -> Action:
    """What suggest does to one footnote, decided from its verdict and archived copy."""
    if verdict is None:
        return Action.KEEP
    if verdict.status == Status.INVALID_URL:
        return Action.INVALID
    if (verdict.status == Status.REDIRECTED and verdict.final_url
            and verdict.final_url != verdict.url):
        return Action.REVIEW if verdict.title_match is False else Action.MOVED
    if (verdict.health == Health.DEAD and not verdict.status.is_ok
            and not verdict.status.is_inconclusive):
        return Action.ARCHIVED if memento else Action.DEAD
    return Action.KEEP


def suggest(citations: Sequence[Citation], verdicts: Mapping[str, Verdict],
            archives: Mapping[str, Memento]) -> list[str]:
    """The footnote list, numbered like the article (`1. ...`), with fixes applied."""
    lines = []
    for i, c in enumerate(citations, 1):
        number, _ = _split_number(c.raw or f"<{c.url}>")
        number = number or (c.id if c.id.isdigit() else str(i))
        lines.append(f"{number}. {fix_footnote(c, verdicts.get(c.id), archives.get(c.url))}")
    return lines


def fix_footnote(c: Citation, verdict: Verdict | None, memento: Memento | None) -> str:
    """One footnote's text (without its number) after the fix its verdict calls for."""
    _, text = _split_number(c.raw or f"<{c.url}>")
    what = action(verdict, memento)
    if what == Action.MOVED and verdict is not None:
        old = c.url if c.url and c.url in text else verdict.url
        return text.replace(old, verdict.final_url) if old else text
    lang = _lang(c, text)
    if what == Action.ARCHIVED and memento is not None:
        return _insert(text, _archive_note(lang, text, memento))
    markers = {Action.DEAD: MARKERS, Action.INVALID: INVALID_MARKERS,
               Action.REVIEW: REVIEW_MARKERS}.get(what)
    return _insert(text, markers[lang]) if markers else text


def _split_number(raw: str) -> tuple[str, str]:
    m = _NUMBER.match(raw)
    return (m.group(1), raw[m.end():]) if m else ("", raw)


def _lang(c: Citation, text: str) -> str:
    """The footnote's own style: its recorded language, else what its punctuation says."""
    if c.lang[:2] in MARKERS:
        return c.lang[:2]
    return "ja" if _JA_HINT.search(text) else "en"


def _insert(text: str, addition: str) -> str:
    """Put `addition` before the footnote's closing full stop / back link, if any."""
    tail = _TAIL.search(text)
    cut = tail.start() if tail else len(text)
    return text[:cut] + addition + text[cut:]


def _archive_note(lang: str, text: str, m: Memento) -> str:
    """ja: 、アーカイブ: <url>(YYYY年M月D日保存)  en: , archived at <url> on Month D, YYYY."""
    day = dt.datetime.fromisoformat(m.archive_date).date()
    bracketed = "<" in text
    link = f"<{m.archive_url}>" if bracketed else m.archive_url
    if lang == "ja":
        left, right = ("（", "）") if "（" in text else ("(", ")")
        return f"、アーカイブ: {link}{left}{day.year}年{day.month}月{day.day}日保存{right}"
    return f", archived at {link} on {_MONTHS[day.month - 1]} {day.day}, {day.year}"
