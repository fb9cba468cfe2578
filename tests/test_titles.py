"""titles.py: normalisation, site-name stripping learned from the page, and scoring."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler import titles
from crawler.extract import parse_page
from crawler.model import Page

PAGES = Path(__file__).parent / "pages"


@pytest.mark.parametrize("raw, norm", [
    ("ＡＢＣ　ニュース", "abc ニュース"),                 # full-width letters and space
    ("ｳｸﾗｲﾅ", "ウクライナ"),                              # half-width kana
    ("「尊厳か、パートナーか」", "尊厳か、パートナーか"),  # Japanese quotes
    ("Trump’s “Real” Plan", "trump s real plan"),
    ("  The   Title.  ", "the title"),
])
def test_normalise(raw, norm):
    assert titles.normalise(raw) == norm


@pytest.mark.parametrize("title, names, stripped", [
    ("見出し - BBCニュース", ["BBCニュース"], "見出し"),
    ("見出し - 日本経済新聞", ["日本経済新聞"], "見出し"),
    ("見出し：時事ドットコム", ["時事ドットコム"], "見出し"),
    ("見出し｜朝日新聞デジタル", ["朝日新聞デジタル"], "見出し"),
    ("CNN.co.jp : 見出し", ["CNN.co.jp"], "見出し"),
    ("Headline | Reuters", ["Reuters"], "Headline"),
    ("Headline – Foreign Policy", ["Foreign Policy"], "Headline"),
    ("COVID-19: the 10:30 briefing", ["Example"], "COVID-19: the 10:30 briefing"),   # no split inside
    ("Headline - BBC News", [], "Headline - BBC News"),                              # nothing learned
])
def test_strip_site(title, names, stripped):
    assert titles.strip_site(title, names) == stripped


# The goal: every fixture's title matches what a citation would call it.
@pytest.mark.parametrize("name, cited", [
    ("bbc_ja.html", "トランプ氏、ウクライナ和平案を提示 ロシア寄りと批判も"),
    ("nikkei.html", "ウクライナ和平案、米ロが協議 欧州は警戒"),
    ("cnn_jp.html", "ウクライナ、米国の和平案修正で協議 ジュネーブ"),
    ("jiji.html", "米、ウクライナに和平案受け入れ迫る 期限は感謝祭"),
    ("afpbb.html", "ゼレンスキー氏「尊厳か、パートナーか」 和平案で難しい選択"),
    ("economist_en.html", "Ukraine struggles to cope with America's destructive peace plans"),
    ("paywall_jsonld.html", "Make Money Not War: Trump's Real Plan for Peace in Ukraine"),
    ("modified_later.html", "The Kremlin Has Already Won"),
    ("sjis_meta.html", "米国の和平案、ウクライナに譲歩迫る"),
    ("utf8_labelled_sjis.html", "米国の和平案、ウクライナに譲歩迫る"),
    ("eucjp_meta.html", "ロシア、和平案を歓迎　欧州は反発"),
    ("another_article.html", "How to Grow Tomatoes on a Balcony"),
    # full-width variant of the cited title, and a cited title that keeps the suffix
    ("nikkei.html", "ウクライナ和平案、米ロが協議　欧州は警戒 - 日本経済新聞"),
    ("economist_en.html", "ＵＫＲＡＩＮＥ struggles to cope with America’s destructive peace plans"),
])
def test_every_fixture_title_matches(name, cited):
    page = parse_page((PAGES / name).read_bytes())
    best, score = titles.best_title(cited, page)
    assert score >= titles.DEFAULT_THRESHOLD, (best, score)


@pytest.mark.parametrize("name, cited", [
    ("another_article.html", "Ukraine struggles to cope with America's destructive peace plans"),
    ("bbc_ja.html", "ゼレンスキー氏「尊厳か、パートナーか」 和平案で難しい選択"),
    ("economist_en.html", "How the U.S. Drafted a Russia-Friendly Peace Plan for Ukraine"),
    ("soft404_ja.html", "トランプ氏、ウクライナ和平案を提示 ロシア寄りと批判も"),
])
def test_another_article_does_not_match(name, cited):
    page = parse_page((PAGES / name).read_bytes())
    _, score = titles.best_title(cited, page)
    assert score < titles.DEFAULT_THRESHOLD


def test_suffix_learned_from_home_page():
    page = Page(titles=(("title", "Bridge opens at last ~ Riverside Gazette"),))
    home = Page(titles=(("title", "Riverside Gazette ~ news from the valley"),))
    # "~" is no separator we know, so only the home page's title can teach the suffix
    assert titles.score("Bridge opens at last", page.titles[0][1]) < 85
    page = Page(titles=(("title", "Bridge opens at last | Riverside Gazette"),))
    home = Page(titles=(("title", "Riverside Gazette | news from the valley"),))
    assert "Riverside Gazette" in titles.site_names(page, home)
    _, score = titles.best_title("Bridge opens at last", page, home=home)
    assert score == 100


def test_outlet_from_citation_is_a_site_name():
    page = Page(titles=(("title", "Kyiv weighs the plan - Kyiv Independent News"),))
    assert titles.best_title("Kyiv weighs the plan", page, outlet="Kyiv Independent News")[1] == 100


def test_best_title_reports_best_candidate():
    page = Page(titles=(("og:title", "Something else entirely"), ("h1", "The cited headline")))
    assert titles.best_title("The cited headline", page) == ("The cited headline", 100.0)


def test_no_candidates():
    assert titles.best_title("Anything", Page()) == ("", 0.0)



@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_normalise_is_idempotent_and_title_matches_itself(text):
    assert titles.normalise(titles.normalise(text)) == titles.normalise(text)
    if titles.normalise(text):
        assert titles.score(text, text) == 100
