"""Title comparison: normalise, strip the site's name, score 0-100 with rapidfuzz.

The site name is learned from the page itself (og:site_name, JSON-LD publisher, the parts its
title shares with the home page's title, the citation's outlet) rather than from a fixed list,
so a host we have never seen is handled the same way as BBC or Nikkei.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz

from crawler.model import Page

__all__ = [
    "DEFAULT_THRESHOLD",
    "best_title",
    "normalise",
    "score",
    "segments",
    "site_names",
    "strip_site",
    "variants",
]

DEFAULT_THRESHOLD = 85.0     # the default: >= 85 counts as the same title
SITE_MATCH = 80.0            # a title segment this close to a site name is that site name
# Separators publishers put between headline and site name. After NFKC, "｜" is "|" and "："
# is ":" so one table covers both widths. A bare ":" or "-" needs spaces (or a full-width
# original) around it, or "COVID-19" and "10:30" would split.
_SEPARATORS = re.compile(r"\s+[|\-–—:·•»/]\s+|\s*[|｜]\s*|\s*[–—]\s+|\s+[–—]\s*|\s+:\s*")
_QUOTES = str.maketrans({c: " " for c in "「」『』“”‘’\"'«»【】《》〈〉〔〕［］()（）[]<>＜＞〝〟″′"})
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−ー"})
_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = " .,;:!?-|/·•…。、！？"


def normalise(text: str) -> str:
    """Unicode NFKC, casefold, brackets/quotes to spaces, one space between words.

    NFKC folds full-width ASCII and half-width kana ("ＡＢＣ" -> "abc", "ｶﾅ" -> "カナ"), so
    a title copied from a Japanese page into a citation compares equal to the page.
    """
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = text.translate(_QUOTES)
    text = _SPACE.sub(" ", text)
    return text.strip(_EDGE_PUNCT)


def segments(title: str) -> list[str]:
    """The pieces of a title between separators, before normalisation."""
    raw = unicodedata.normalize("NFKC", title or "").replace("\u3000", " ")
    # NFKC has already turned full-width "：" into ":"; keep it a separator when it sat between
    # non-ASCII (Japanese) text, as in "見出し：日本経済新聞".
    raw = re.sub(r"(?<=[^\x00-\x7f]):(?=\S)|(?<=\S):(?=[^\x00-\x7f])", " : ", raw)
    raw = re.sub(r"(?<=[^\x00-\x7f])_(?=[^\x00-\x7f])", " | ", raw)   # 記事_智能_好奇心日报
    return [p.strip() for p in _SEPARATORS.split(raw) if p and p.strip()]


def _is_site(segment: str, names: Sequence[str]) -> bool:
    seg = normalise(segment)
    if not seg:
        return True
    for name in names:
        n = normalise(name)
        if not n:
            continue
        if seg == n or fuzz.ratio(seg, n) >= SITE_MATCH:
            return True
        if len(n) >= 3 and (n in seg and len(seg) <= len(n) + 12):
            return True          # "bbc news japan" in "bbcニュース japan" style decorations
        if len(seg) >= 3 and seg in n:
            return True
    return False


def strip_site(title: str, names: Sequence[str]) -> str:
    """Drop leading/trailing segments that are the site's name; keep the headline."""
    parts = segments(title)
    count = len(parts)
    while len(parts) > 1 and _is_site(parts[-1], names):
        parts.pop()
    while len(parts) > 1 and _is_site(parts[0], names):
        parts.pop(0)
    return " ".join(parts) if len(parts) < count else title


def variants(title: str, names: Sequence[str]) -> list[str]:
    """Normalised forms worth comparing: whole, site stripped, and without the last segment.

    The last form is the fallback for an unknown suffix ("Headline - Section - Site" when no
    site name was learned); the score still has to clear the threshold on its own.
    """
    forms = [title, strip_site(title, names)]
    parts = segments(title)
    if len(parts) >= 2:
        forms += [" ".join(parts[:-1]), " ".join(parts[1:]), max(parts, key=len)]
    out: list[str] = []
    for form in forms:
        n = normalise(form)
        if n and n not in out:
            out.append(n)
    return out


def score(cited: str, candidate: str, names: Sequence[str] = ()) -> float:
    """0-100: how well one page title candidate names the cited title."""
    want_forms = variants(cited, names) or [normalise(cited)]
    best = 0.0
    for want in want_forms[:2]:          # the cited title itself, and without its site name
        for have in variants(candidate, names):
            # token_sort forgives reordered words ("NASA+ startet: Streaming ..." vs
            # "NASA+ Streaming startet: ..."); for CJK without spaces it equals ratio.
            best = max(best, fuzz.ratio(want, have), fuzz.token_sort_ratio(want, have))
    return round(best, 1)


def site_names(page: Page, home: Page | None = None, outlet: str = "") -> list[str]:
    """Every name the site goes by, from the page, its home page and the citation."""
    names = [n for n in (page.site_name, outlet) if n]
    if home is not None:
        names += [n for n in (home.site_name,) if n]
        names += _shared_with_home(page, home)
    return names


def _shared_with_home(page: Page, home: Page) -> list[str]:
    """Title segments that also appear in the home page's titles: those are the site's name."""
    home_parts = {normalise(p) for _, t in home.titles for p in segments(t)}
    shared = []
    for _, title in page.titles:
        parts = segments(title)
        for part in (parts[0], parts[-1]) if len(parts) > 1 else ():
            if normalise(part) in home_parts:
                shared.append(part)
    return shared


def best_title(cited: str, page: Page, *, home: Page | None = None,
               outlet: str = "") -> tuple[str, float]:
    """(candidate text, score) of the page title that best matches the cited one."""
    names = site_names(page, home, outlet)
    best_text, best_score = _first_title(page.titles), 0.0
    for _, text in page.titles:
        s = score(cited, text, names)
        if s > best_score:
            best_text, best_score = text, s
    return best_text, best_score


def _first_title(candidates: Iterable[tuple[str, str]]) -> str:
    return next((text for _, text in candidates), "")
