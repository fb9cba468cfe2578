"""suggest: fixes in the footnote's own style; healthy footnotes come back byte for byte."""

from __future__ import annotations

import re

import pytest
from conftest import ARTICLE

from crawler.memento import Memento
from crawler.model import Citation, Health, Status, Verdict
from crawler.suggest import Action, action, fix_footnote, suggest

JA = ("「トランプ氏、ウクライナ停戦『半年で』」『日本経済新聞』2025年1月9日、"
      "<https://www.nikkei.com/article/DGKKZO85938270Y5A100C2EA2000/>(2025年12月22日参照)")
JA_TAIL = JA + "。(本文に戻る)"
EN = ("“Ukraine struggles to cope,” The Economist, December 11, 2025, "
      "<https://www.economist.com/europe/2025/12/11/ukraine>, accessed on December 22, 2025")
JA_URL = "https://www.nikkei.com/article/DGKKZO85938270Y5A100C2EA2000/"
EN_URL = "https://www.economist.com/europe/2025/12/11/ukraine"
ARCHIVED = "2025-03-05T12:00:00+00:00"


def cite(cid: str, raw: str, url: str, lang: str = "") -> Citation:
    return Citation(cid, url=url, accessed="2025-12-22", lang=lang, raw=raw)


def verdict(c: Citation, status: Status, final_url: str = "", **kw) -> Verdict:
    return Verdict(id=c.id, url=c.url, status=status, final_url=final_url, **kw)


def memento(url: str) -> Memento:
    return Memento(url, f"https://web.archive.org/web/20250305120000/{url}", ARCHIVED, 200)


def article_footnotes() -> list[Citation]:
    text = ARTICLE.read_text(encoding="utf-8").split("(了)")[-1]
    out = []
    for m in re.finditer(r"^\s*(\d+)\. (.+)$", text, re.MULTILINE):
        url = re.search(r"<(https?://[^>]+)>", m.group(2))
        out.append(Citation(m.group(1), url=url.group(1) if url else "", raw=m.group(0).strip()))
    return out


@pytest.mark.skipif(not ARTICLE.exists(), reason="shared article not present")
@pytest.mark.parametrize("status", [Status.OK, Status.BLOCKED, Status.PAYWALLED, Status.TIMEOUT,
                                    Status.ROBOTS_DISALLOWED, Status.SERVER_ERROR])
def test_healthy_and_inconclusive_footnotes_are_never_changed(status):
    citations = article_footnotes()
    assert len(citations) >= 20
    verdicts = {c.id: verdict(c, status) for c in citations}
    archives = {c.url: memento(c.url) for c in citations}     # even with copies on offer
    assert suggest(citations, verdicts, archives) == [c.raw for c in citations]


@pytest.mark.parametrize("raw, url, lang, expected", [
    (JA, JA_URL, "ja", JA + "、アーカイブ: <https://web.archive.org/web/20250305120000/"
                       + JA_URL + ">(2025年3月5日保存)"),
    (JA_TAIL, JA_URL, "", JA + "、アーカイブ: <https://web.archive.org/web/20250305120000/"
                              + JA_URL + ">(2025年3月5日保存)。(本文に戻る)"),
    (EN + ".", EN_URL, "en", EN + ", archived at <https://web.archive.org/web/20250305120000/"
                                + EN_URL + "> on March 5, 2025."),
    (EN + ".(本文に戻る)", EN_URL, "", EN + ", archived at <https://web.archive.org/web/"
                                         "20250305120000/" + EN_URL + "> on March 5, 2025.(本文に戻る)"),
])
def test_dead_link_gets_archived_copy_in_its_own_style(raw, url, lang, expected):
    c = cite("4", raw, url, lang)
    assert fix_footnote(c, verdict(c, Status.NOT_FOUND), memento(url)) == expected


@pytest.mark.parametrize("raw, url, expected", [
    (JA + "。", JA_URL, JA + "[リンク切れ]。"),
    (EN + ".", EN_URL, EN + " [dead link]."),
])
def test_dead_link_without_copy_gets_a_marker(raw, url, expected):
    c = cite("4", raw, url)
    assert fix_footnote(c, verdict(c, Status.GONE), None) == expected


def test_moved_url_is_replaced_in_place():
    c = cite("4", JA + "。", JA_URL)
    new = "https://www.nikkei.com/article/NEW/"
    out = fix_footnote(c, verdict(c, Status.REDIRECTED, final_url=new), memento(JA_URL))
    assert out == (JA + "。").replace(JA_URL, new)


def test_transient_failures_wait_for_history_to_say_dead():
    c = cite("4", EN + ".", EN_URL)
    once = verdict(c, Status.SERVER_ERROR, health=Health.FAILING)
    dead = verdict(c, Status.SERVER_ERROR, health=Health.DEAD)
    assert action(once, memento(EN_URL)) == Action.KEEP
    assert action(dead, memento(EN_URL)) == Action.ARCHIVED
    assert action(dead, None) == Action.DEAD
    assert action(None, None) == Action.KEEP


def test_suggest_numbers_lines_like_the_article():
    a = cite("1", "1. " + JA + "。", JA_URL)
    b = cite("x", EN + ".", EN_URL)
    c = cite("7", EN + ".", "http://moved.test/")
    lines = suggest([a, b, c],
                    {"1": verdict(a, Status.OK), "x": verdict(b, Status.NOT_FOUND)},
                    {EN_URL: memento(EN_URL)})
    assert lines[0] == "1. " + JA + "。"
    assert lines[1].startswith("2. " + EN + ", archived at <https://web.archive.org/")
    assert lines[2] == "7. " + EN + "."                 # no verdict: untouched
