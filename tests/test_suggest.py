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
    assert fix_footnote(c, verdict(c, Status.NOT_FOUND, health=Health.DEAD), memento(url)) == expected


@pytest.mark.parametrize("raw, url, expected", [
    (JA + "。", JA_URL, JA + "[リンク切れ]。"),
    (EN + ".", EN_URL, EN + " [dead link]."),
])
def test_dead_link_without_copy_gets_a_marker(raw, url, expected):
    c = cite("4", raw, url)
    assert fix_footnote(c, verdict(c, Status.GONE, health=Health.DEAD), None) == expected


@pytest.mark.parametrize("status", [Status.NOT_FOUND, Status.GONE, Status.SOFT_404,
                                    Status.CLIENT_ERROR, Status.REDIRECT_LOOP])
@pytest.mark.parametrize("health", [Health.FAILING, Health.UNKNOWN, Health.OK])
def test_one_bad_answer_is_not_dead_yet(status, health):
    """Dead only after several runs and days: a first 404/410/soft 404 leaves the footnote alone."""
    c = cite("4", JA + "。", JA_URL)
    once = verdict(c, status, health=health)
    assert action(once, memento(JA_URL)) == Action.KEEP
    assert fix_footnote(c, once, memento(JA_URL)) == JA + "。"
    assert fix_footnote(c, once, None) == JA + "。"
    assert action(verdict(c, status, health=Health.DEAD), None) == Action.DEAD


@pytest.mark.parametrize("status", [Status.BLOCKED, Status.PAYWALLED, Status.TIMEOUT,
                                    Status.ROBOTS_DISALLOWED])
def test_could_not_check_this_run_is_never_marked_even_if_history_says_dead(status):
    c = cite("4", EN + ".", EN_URL)
    assert action(verdict(c, status, health=Health.DEAD), memento(EN_URL)) == Action.KEEP


@pytest.mark.parametrize("raw, lang, expected", [
    (JA + "。", "", JA + "[URL不正]。"),
    (EN + ".", "en", EN + " [invalid URL]."),
])
def test_invalid_url_is_a_citation_error_marked_at_once(raw, lang, expected):
    c = cite("4", raw, "htp:/broken", lang)
    first_run = verdict(c, Status.INVALID_URL, health=Health.UNKNOWN)
    assert action(first_run, None) == Action.INVALID
    assert fix_footnote(c, first_run, memento("htp:/broken")) == expected   # no copy offered
    assert "[リンク切れ]" not in fix_footnote(c, first_run, None)
    assert "dead link" not in fix_footnote(c, first_run, None)


def test_moved_url_is_replaced_in_place():
    c = cite("4", JA + "。", JA_URL)
    new = "https://www.nikkei.com/article/NEW/"
    out = fix_footnote(c, verdict(c, Status.REDIRECTED, final_url=new), memento(JA_URL))
    assert out == (JA + "。").replace(JA_URL, new)
    same = verdict(c, Status.REDIRECTED, final_url=new, title_match=True)
    assert fix_footnote(c, same, None) == out


@pytest.mark.parametrize("raw, url, lang, expected", [
    (JA + "。", JA_URL, "ja", JA + "[要確認: 転送先が別の記事]。"),
    (EN + ".", EN_URL, "en", EN + " [check: redirects to another article]."),
])
def test_redirect_to_another_article_is_marked_for_review_not_replaced(raw, url, lang, expected):
    c = cite("4", raw, url, lang)
    other = verdict(c, Status.REDIRECTED, final_url="https://example.com/another-story",
                    title_match=False, title_score=12.0)
    assert action(other, memento(url)) == Action.REVIEW
    out = fix_footnote(c, other, memento(url))
    assert out == expected and url in out and "another-story" not in out


@pytest.mark.parametrize("status", [Status.OK, Status.PAYWALLED, Status.SOFT_404])
def test_only_a_permanent_redirect_replaces_the_url(status):
    """A temporary redirect (status ok) or a redirect to an error page keeps the cited URL."""
    c = cite("4", EN + ".", EN_URL)
    v = verdict(c, status, final_url="https://www.economist.com/login?next=x")
    assert fix_footnote(c, v, None) == EN + "."


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
                    {"1": verdict(a, Status.OK),
                     "x": verdict(b, Status.NOT_FOUND, health=Health.DEAD)},
                    {EN_URL: memento(EN_URL)})
    assert lines[0] == "1. " + JA + "。"
    assert lines[1].startswith("2. " + EN + ", archived at <https://web.archive.org/")
    assert lines[2] == "7. " + EN + "."                 # no verdict: untouched
