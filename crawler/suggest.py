"""Repair the article's footnote list in its own citation style (`crawler suggest`).

Why this shape: an editor pastes the output back over the footnotes, so every
line keeps the author's wording, punctuation and language; only the URL is
swapped (moved page), an archived copy is appended (dead page) or a marker is
added (dead, no copy). A healthy or merely inconclusive footnote comes back
byte for byte. The functions are pure: verdicts and archives come in as data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum

from crawler.memento import Memento
from crawler.model import Citation, Health, Status, Verdict

__all__ = ["MARKERS", "Action", "action", "fix_footnote", "suggest"]

MARKERS = {"ja": "[リンク切れ]", "en": " [dead link]"}
# Failures that are the page's own answer: one run is enough to call the link broken.
# Network-level or 5xx failures must first become Health.DEAD over several runs.
_DEFINITE = frozenset({Status.NOT_FOUND, Status.GONE, Status.SOFT_404, Status.CLIENT_ERROR,
                       Status.REDIRECT_LOOP, Status.INVALID_URL})
_NUMBER = re.compile(r"^\s*(\d+)[.．]\s*")
# What closes a footnote: its full stop and the article's "back to text" link.
_TAIL = re.compile(r"\s*[。.]?\s*(?:[(（]本文に戻る[)）])?\s*$")
_JA_HINT = re.compile(r"[「『』」]|参照")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


class Action(StrEnum):
    KEEP = "keep"            # healthy, inconclusive or unknown: never touched
    MOVED = "moved"          # permanently redirected: URL replaced by the final URL
    ARCHIVED = "archived"    # broken: archived copy appended
    DEAD = "dead"            # broken, no archived copy: marker appended


def action(verdict: Verdict | None, memento: Memento | None) -> Action:
    """What suggest does to one footnote, decided from its verdict and archived copy."""
    if verdict is None:
        return Action.KEEP
    if (verdict.status == Status.REDIRECTED and verdict.final_url
            and verdict.final_url != verdict.url):
        return Action.MOVED
    if verdict.status in _DEFINITE or (verdict.health == Health.DEAD
                                       and not verdict.status.is_ok):
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
    if what == Action.DEAD:
        return _insert(text, MARKERS[lang])
    return text


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
