"""Footnotes -> citations: the seed's 25 footnotes, and renderings and wordings it does not use."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ARTICLE
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.citefields import find_dates, find_url, split_authors
from crawler.footnotes import (
    Note,
    clean_raw,
    detect_format,
    find_notes,
    parse_article,
    parse_footnote,
)

FIXTURES = Path(__file__).parent / "fixtures" / "articles"
needs_article = pytest.mark.skipif(not ARTICLE.exists(), reason="../shared/articles is not checked out")


def fixture(name: str):
    return parse_article((FIXTURES / name).read_bytes(), name)


@pytest.fixture(scope="module")
def seed():
    if not ARTICLE.exists():
        pytest.skip("../shared/articles is not checked out")
    citations, errors = parse_article(ARTICLE.read_bytes(), ARTICLE.name)
    return {c.id: c for c in citations}, errors


# -- the seed -------------------------------------------------------------------------------

@needs_article
def test_seed_block_is_the_25_footnotes_and_nothing_else(seed):
    by_id, errors = seed
    assert list(by_id) == [str(i) for i in range(1, 26)]
    assert errors == []
    # the 「SPFアメリカ現状モニター」 related-articles list after the notes is not a footnote
    assert not any("森聡" in c.raw for c in by_id.values())


@needs_article
def test_seed_raw_loses_backlink_and_final_full_stop_only(seed):
    by_id, _ = seed
    for c in by_id.values():
        assert "本文に戻る" not in c.raw and not c.raw.endswith(("。", "."))
    assert by_id["12"].raw.endswith("-2025-07-14/> (2025年12月22日参照)")      # the space stays
    assert by_id["2"].raw.endswith("accessed on December 22, 2025")


SEED = [
    # id, authors, title, outlet, published, url-ending, accessed, lang
    ("1", (), "ウクライナ巡る協議『何かに近づいている』とトランプ氏、米ロ会談控え", "ロイター", "2025-12-19",
     "TSKR6UTGJNKWVJTKW3ZZCYROSQ-2025-12-18/", "2025-12-22", "ja"),
    ("2", (), "Ukraine struggles to cope with America’s destructive peace plans", "The Economist",
     "2025-12-11", "ukraine-struggles-to-cope-with-americas-destructive-peace-plans", "2025-12-22", "en"),
    ("3", (), "ウクライナでの戦争、『私が大統領なら1日で終わらせる』トランプ氏", "CNN(日本語版)", "2023-05-11",
     "cnn.co.jp/usa/35203626.html", "2025-12-22", "ja"),
    # a space inside the access date: 2025年12月22 日
    ("4", ("坂口幸裕",), "トランプ氏、ウクライナ停戦『半年で』", "日本経済新聞", "2025-01-09",
     "DGKKZO85938270Y5A100C2EA2000/", "2025-12-22", "ja"),
    # a URL with a query string, & included
    ("17", (), "米にトマホーク提供要請 ゼレンスキー氏、対ロ圧力で―報道", "時事通信", "2025-09-27",
     "jc/article?k=2025092700142&g=int", "2025-12-22", "ja"),
    # authors separated by 、
    ("18", ("Natalia Drozdiak", "Alberto Nardelli", "Mario Parker"),
     "米ロが水面下でまとめた和平案、ウクライナと同盟国を不意打ち", "Bloomberg", "2025-11-24",
     "2025-11-24/T67NZYT9NJLU00", "2025-12-22", "ja"),
    # authors separated by ', ' and '&' before 「
    ("19", ("Robbie Gramer", "Alexander Ward", "Lara Seligman"), "米のウクライナ和平案、ロシア寄りになった舞台裏",
     "Wall Street Journal", "2025-11-25", "russia-friendly-peace-plan-for-ukraine-2c4ab4c5", "2025-12-22", "ja"),
    # title starts with 『 inside 「; its 『』 is not the outlet
    ("20", (), "『安全の保証』米欧が確認 ウクライナは領土譲らず―修正和平案、ロシア対応焦点", "時事通信",
     "2025-12-16", "k=2025121600138&g=int", "2025-12-22", "ja"),
    # four authors, English style, access date 'December 22,2025' in parentheses
    ("21", ("Miranda Priebe", "John M. Schuessler", "Bryan Rooney", "Jasen J. Castillo"),
     "Competing Visions of Restraint for U.S. Foreign Policy", "Rand Corporation", "2025-01-09",
     "research_briefs/RBA739-2.html", "2025-12-22", "en"),
    # 'December 11,2025,<URL>' (no spaces) and 'Accessed' capitalised
    ("23", (), "Ukraine struggles to cope with America’s destructive peace plans", "The Economist",
     "2025-12-11", "ukraine-struggles-to-cope-with-americas-destructive-peace-plans", "2025-12-22", "en"),
    # five authors, a 、 before 「, and no comma between the date and <URL>
    ("24", ("Drew Hinshaw", "Benoit Faucon", "Rebecca Ballhaus", "Thomas Grove", "Joe Parkinson"),
     "『戦争ではなく金儲けを』 トランプ氏の真の和平案", "Wall Street Journal", "2025-12-02",
     "make-money-not-war-trumps-real-plan-for-peace-in-ukraine-10e15047", "2025-12-22", "ja"),
    ("25", ("Michael Hirsh",), "Putin Has Already Won", "Foreign Policy", "2025-12-11",
     "foreignpolicy.com/2025/12/11/putin-west-russia-ukraine-won/", "2025-12-22", "en"),
]


@needs_article
@pytest.mark.parametrize("cid, authors, title, outlet, published, url_end, accessed, lang", SEED)
def test_seed_footnote_fields(seed, cid, authors, title, outlet, published, url_end, accessed, lang):
    c = seed[0][cid]
    assert (c.authors, c.title, c.outlet, c.published, c.accessed, c.lang) == \
        (authors, title, outlet, published, accessed, lang)
    assert c.url.startswith("https://") and c.url.endswith(url_end)


@needs_article
def test_seed_two_footnotes_citing_one_url_both_stay(seed):
    by_id, _ = seed
    assert by_id["2"].url == by_id["23"].url
    assert by_id["2"].raw != by_id["23"].raw


@needs_article
def test_seed_lang_counts_match_the_article_readme(seed):
    langs = [c.lang for c in seed[0].values()]
    assert langs.count("ja") == 21 and langs.count("en") == 4


# -- other renderings -----------------------------------------------------------------------

@pytest.mark.parametrize("name, kind", [("variants.txt", "text"), ("endnotes.html", "html"),
                                        ("word-export.html", "html"), ("notes-heading.txt", "html"),
                                        ("paragraphs.html", "html"), ("footnotes.md", "markdown"),
                                        ("numbered-notes.md", "markdown"), ("styles-en.txt", "text"),
                                        ("sup-paragraphs.html", "html")])
def test_format_is_chosen_by_content(name, kind):
    assert detect_format((FIXTURES / name).read_text(encoding="utf-8")) == kind


FIXTURE_ROWS = [
    # file, id, authors, title, outlet, published, url, accessed
    ("endnotes.html", "1", (), "新興国の債務問題", "日本経済新聞", "2024-06-01",
     "https://www.nikkei.com/article/DGXZQO0000001/", "2025-01-10"),
    # the URL only in href, the title inside the link; back-link ↩︎ dropped
    ("endnotes.html", "2", ("Anna Lee", "Tom Park"), "Markets in Motion", "Financial Times", "2024-06-02",
     "https://www.ft.com/content/abc-123", "2025-01-10"),
    ("word-export.html", "1", (), "物価と賃金の好循環", "日本銀行", "2024-07-31",
     "https://www.boj.or.jp/about/press/koen_2024/ko240731a.htm", "2024-08-05"),
    ("word-export.html", "2", ("Lisa Chen",), "Rates on Hold", "Reuters", "2024-07-31",
     "https://www.reuters.com/markets/rates-on-hold-2024-07-31/", "2024-08-05"),
    ("notes-heading.txt", "1", (), "防衛費の財源", "朝日新聞", "2024-02-10",
     "https://www.asahi.com/articles/ASS2A0000.html", "2024-03-01"),
    ("paragraphs.html", "2", (), "為替介入の効果", "時事通信", "2024-04-30",
     "https://www.jiji.com/jc/article?k=2024043000001&g=eco", "2024-05-01"),
    ("footnotes.md", "1", (), "AIと著作権", "NHKニュース", "2024-05-20",
     "https://www3.nhk.or.jp/news/html/20240520/k10014455555000.html", "2024-06-01"),
    # [title](url) link, *italic* outlet, a definition continued on an indented line
    ("footnotes.md", "2", ("Maria Garcia",), "The Quiet Boom", "The Atlantic", "2024-05-21",
     "https://www.theatlantic.com/ideas/archive/2024/05/quiet-boom/678000/", "2024-06-01"),
    # day-month-year dates, lower-case 'retrieved'
    ("numbered-notes.md", "1", ("Kenji Sato",), "Ports and Power", "Nikkei Asia", "2024-04-05",
     "https://asia.nikkei.com/Politics/ports-and-power", "2024-06-01"),
    # a bare URL glued to '(' of the access date
    ("numbered-notes.md", "2", (), "港湾の安全保障", "産経新聞", "2024-04-06",
     "https://www.sankei.com/article/20240406-ABCDEF/", "2024-06-01"),
    # bare URL, full-width parentheses, 閲覧
    ("variants.txt", "1", ("山田太郎",), "気候変動と農業の未来", "毎日新聞", "2024-03-05",
     "https://mainichi.jp/articles/20240305/k00/00m/040/123000c", "2025-01-10"),
    # full-width digits, 最終閲覧日：
    ("variants.txt", "2", (), "半導体輸出規制の行方", "読売新聞オンライン", "2024-11-02",
     "https://www.yomiuri.co.jp/economy/20241102-OYT1T50001/", "2025-01-10"),
    # et al., day-month-year, a full stop after a bare URL, 'Retrieved'
    ("variants.txt", "3", ("Jane Doe", "et al."), "Supply Chains After the Pandemic",
     "Brookings Institution", "2024-03-14", "https://www.brookings.edu/articles/supply-chains/", "2025-01-10"),
    # 'and' between names, straight quotes, 'Feb.', an ISO access date
    ("variants.txt", "4", ("John Smith", "Mary Jones"), "Energy Security in East Asia", "Foreign Affairs",
     "2024-02-03", "https://www.foreignaffairs.com/asia/energy-security", "2025-01-10"),
    # a Japanese era date, アクセス after the date
    ("variants.txt", "5", ("佐藤花子", "鈴木一郎"), "地方創生の十年", "東洋経済オンライン", "2024-04-01",
     "https://toyokeizai.net/articles/-/700001", "2025-01-10"),
    # APA: '(2024, June 2).' then the title as a sentence; initials stay with their surname
    ("styles-en.txt", "1", ("Lee, A.", "Park, T."), "Markets in motion", "Financial Times", "2024-06-02",
     "https://www.ft.com/content/abc-123", ""),
    # APA with a group author, a year only, 'Retrieved ..., from URL'
    ("styles-en.txt", "2", ("World Bank",), "Global economic prospects", "World Bank Group", "2023",
     "https://www.worldbank.org/en/publication/gep", "2024-01-05"),
    # MLA: inverted first author, a URL without its scheme, 'Accessed 22 Dec. 2025.'
    ("styles-en.txt", "3", ("Hirsh, Michael",), "Putin Has Already Won", "Foreign Policy", "2025-12-11",
     "https://foreignpolicy.com/2025/12/11/putin-west-russia-ukraine-won/", "2025-12-22"),
    # British single quotes around a title holding an apostrophe; [accessed ...]
    ("styles-en.txt", "4", (), "Britain’s new plan", "The Guardian", "2024-05-03",
     "https://www.theguardian.com/politics/2024/may/03/plan", "2024-05-04"),
    # an organisation with 'and' in its name is one author; number 5 skipped by the author
    ("styles-en.txt", "6", ("Center for Strategic and International Studies",), "Rethinking Deterrence",
     "CSIS", "2024-03-01", "https://www.csis.org/analysis/rethinking-deterrence", "2024-03-03"),
    # ※-numbered notes cut by a page marker: still one list
    ("page-break.txt", "3", (), "記事三", "読売新聞", "2024-01-03", "https://www.yomiuri.co.jp/c3/", "2024-02-01"),
    # <sup>1</sup> paragraphs; the link text is a shortened URL, the href the whole one
    ("sup-paragraphs.html", "1", (), "Title One", "Example Times", "2024-01-01",
     "https://www.example-times.com/2024/01/01/title-one-long-path/", "2024-01-03"),
    ("sup-paragraphs.html", "2", (), "題名二", "例示新聞", "2024-01-02", "https://www.example.jp/news/2",
     "2024-01-03"),
]


@pytest.mark.parametrize("name, cid, authors, title, outlet, published, url, accessed", FIXTURE_ROWS)
def test_fixture_footnote_fields(name, cid, authors, title, outlet, published, url, accessed):
    by_id = {c.id: c for c in fixture(name)[0]}
    c = by_id[cid]
    assert (c.authors, c.title, c.outlet, c.published, c.url, c.accessed) == \
        (authors, title, outlet, published, url, accessed)


@pytest.mark.parametrize("name, count", [("variants.txt", 6), ("styles-en.txt", 5), ("page-break.txt", 3),
                                         ("sup-paragraphs.html", 2), ("endnotes.html", 2), ("word-export.html", 2),
                                         ("notes-heading.txt", 2), ("paragraphs.html", 2),
                                         ("footnotes.md", 2), ("numbered-notes.md", 2)])
def test_prose_lists_and_navigation_are_not_footnotes(name, count):
    citations, _ = fixture(name)
    assert len(citations) == count
    assert not any(w in c.raw for c in citations for w in ("Apples", "point", "Home"))


def test_a_longer_list_of_related_articles_does_not_outrank_the_footnotes():
    """Related-article lists have titles, dates and links too, but no visible URL or 参照."""
    citations, errors = fixture("related-list.html")
    assert [c.title for c in citations] == ["本当の脚注", "二つ目の脚注"] and errors == []
    assert citations[1].url == "https://news.example.jp/2"


def test_incomplete_footnote_is_kept_and_reported_with_its_missing_fields():
    citations, errors = fixture("variants.txt")
    assert citations[-1].title == "出典不明のメモ" and citations[-1].authors == ("田中",)
    assert [(e.line, e.column) for e in errors] == [(6, "outlet, published, url, accessed")]
    assert "footnote 6" in str(errors[0]) and str(errors[0]).startswith("variants.txt:6 ")


def test_html_backlinks_and_markers_do_not_reach_raw():
    citations, _ = fixture("endnotes.html")
    assert all("↩" not in c.raw and not c.raw.endswith("。") for c in citations)


def test_no_footnote_block_is_one_whole_file_error():
    citations, errors = parse_article("Just prose.\n\n1. a list\n2. of things\n", "a.txt")
    assert citations == [] and errors[0].line == 0 and "no footnote" in errors[0].message


def test_bytes_in_shift_jis_are_decoded():
    text = "注\n1. 「題名」『媒体』2024年1月2日、<https://example.jp/a>（2024年2月3日参照）\n"
    citations, errors = parse_article(text.encode("cp932"))
    assert citations[0].title == "題名" and citations[0].outlet == "媒体" and errors == []


# -- pieces ---------------------------------------------------------------------------------

@pytest.mark.parametrize("segment, names", [
    ("Robbie Gramer, Alexander Ward & Lara Seligman", ("Robbie Gramer", "Alexander Ward", "Lara Seligman")),
    ("Natalia Drozdiak、Alberto Nardelli、", ("Natalia Drozdiak", "Alberto Nardelli")),
    ("A. Smith, B. Jones, and C. Brown", ("A. Smith", "B. Jones", "C. Brown")),
    ("Smith, J., & Doe, A.", ("Smith, J.", "Doe, A.")),
    ("Center for Strategic and International Studies", ("Center for Strategic and International Studies",)),
    ("Mary Jones et al.", ("Mary Jones", "et al.")),
    ("By Ann Lee; Bo Kim", ("Ann Lee", "Bo Kim")),
    ("山田太郎（2024）", ("山田太郎",)),                        # author-date style: the year is not a name
    ("", ()),
])
def test_split_authors(segment, names):
    assert split_authors(segment) == names


@pytest.mark.parametrize("text, expected", [
    ("2025年12月22 日参照", [("2025-12-22", True)]),
    ("December 11,2025", [("2025-12-11", False)]),
    ("11 December 2025, accessed 22 Dec. 2025", [("2025-12-11", False), ("2025-12-22", True)]),
    ("(Retrieved on 2025-12-22)", [("2025-12-22", True)]),
    ("令和元年5月1日", [("2019-05-01", False)]),
    ("2025年2月30日", []),                                     # no such day
    ("最終閲覧日:2025/1/10", [("2025-01-10", True)]),
    ("2025年3月", [("2025-03", False)]),
    ("item 12345678", []),
])
def test_find_dates(text, expected):
    assert [(d.iso, d.access) for d in find_dates(text)] == expected


@pytest.mark.parametrize("text, url", [
    ("see <https://a.example/x?k=1&g=int>.", "https://a.example/x?k=1&g=int"),
    ("2025年1月9日https://a.example/p（2025年参照）", "https://a.example/p"),
    ("https://en.wikipedia.org/wiki/Foo_(bar), accessed", "https://en.wikipedia.org/wiki/Foo_(bar)"),
    ("(https://a.example/p)", "https://a.example/p"),
    ("no link here", ""),
])
def test_find_url(text, url):
    assert find_url(text)[0] == url


@pytest.mark.parametrize("text, outlet", [
    ("「題名」日本経済新聞、2024年1月1日、https://a.example/1（2024年2月1日参照）", "日本経済新聞"),
    ("「題名」（日本経済新聞、2024年1月1日）https://a.example/1 2024年2月1日閲覧", "日本経済新聞"),
    ("Anna Lee, “Title?” The Outlet (London), 2 January 2024, https://a.example/1 (viewed 3 January 2024)",
     "The Outlet (London)"),
])
def test_outlet_without_brackets_is_what_lies_between_title_and_date(text, outlet):
    citation, missing = parse_footnote(Note("1", text))
    assert citation.outlet == outlet and missing == ()
    assert (citation.published, citation.accessed) in {("2024-01-01", "2024-02-01"), ("2024-01-02", "2024-01-03")}


def test_link_target_is_used_only_when_the_text_has_no_url():
    assert parse_footnote(Note("1", "「題」『媒』2024年1月2日", ("https://b.example/",)))[0].url == \
        "https://b.example/"
    assert find_url("<https://a.example/>", ("https://b.example/",))[0] == "https://a.example/"


@pytest.mark.parametrize("text, raw", [
    ("「a」『b』。(本文に戻る)", "「a」『b』"),
    ("“a,” b, 2025 （本文に戻る）", "“a,” b, 2025"),
    ("“a,” b ↩︎", "“a,” b"),
    ("“a,” b, Inc", "“a,” b, Inc"),
])
def test_clean_raw(text, raw):
    assert clean_raw(text) == raw


# -- never raises ---------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_article_never_raises_on_any_text(text):
    citations, errors = parse_article(text, "x")
    assert all(c.id for c in citations)
    assert citations or errors


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_parse_article_never_raises_on_any_bytes(data):
    citations, errors = parse_article(data, "x")
    assert all(isinstance(c.raw, str) for c in citations) and (citations or errors)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["1. ", "2. ", "「", "」", "『", "』", "“", "”", '"', "<", ">", "(", ")",
                                 "（", "）", "https://a.example/p?q=1", "2025年1月2日", "December 3, 2025",
                                 "参照", "accessed on ", ", ", "、", "\n", " ", "<li>", "</li>", "<ol>",
                                 "[^1]: ", "et al.", " and ", "&", "x"]), max_size=40))
def test_parse_article_never_raises_on_citation_shaped_noise(parts):
    citations, _ = parse_article("".join(parts), "x")
    for c in citations:
        assert "\n" not in c.title and c.url.strip() == c.url


def test_find_notes_on_empty_and_whitespace():
    assert find_notes("") == [] and find_notes(" \n\t\n") == []


def test_markdown_with_inline_html_tags_still_finds_its_notes():
    text = ("本文<sup>1</sup>と<sup>2</sup>。\n\n## 注\n\n"
            "1. 「題」『媒体』2024年1月1日、<https://a.example/1>（2024年2月1日参照）\n"
            "2. 「題2」『媒体』2024年1月2日、[記事](https://a.example/2)（2024年2月1日参照）\n")
    citations, errors = parse_article(text)
    assert detect_format(text) == "html" and errors == []
    assert [c.url for c in citations] == ["https://a.example/1", "https://a.example/2"]


def test_full_width_numbers_and_a_url_on_a_continuation_line():
    text = ("注\n１．「題」『媒体』２０２４年１月１日、https://a.example/1（２０２４年２月１日参照）\n"
            "２．「題2」『媒体』2024年1月2日\n    https://a.example/2 （2024年2月1日参照）\n")
    citations, errors = parse_article(text)
    assert errors == []
    assert [(c.id, c.published, c.url) for c in citations] == [
        ("1", "2024-01-01", "https://a.example/1"), ("2", "2024-01-02", "https://a.example/2")]


def test_a_line_right_after_a_closed_footnote_is_not_part_of_it():
    text = ("注\n1. 「題」『媒体』2024年1月1日、https://a.example/1（2024年2月1日参照）。(本文に戻る)\n"
            "2. 「題2」『媒体』2024年1月2日、https://a.example/2（2024年2月1日参照）。(本文に戻る)\n関連論考\n")
    citations, _ = parse_article(text)
    assert citations[-1].raw == "「題2」『媒体』2024年1月2日、https://a.example/2（2024年2月1日参照）"


def test_html_unordered_list_direct_items_are_numbered_by_position():
    html = ('<html><body><ul class="nav"><li><a href="/">Home</a></li></ul><div><ul>'
            '<li>「題」『媒体』2024年1月1日、<a href="https://a.example/1">https://a.example/1</a>（2024年2月1日参照）</li>'
            '<li>“T,” Outlet, May 1, 2024, <a href="https://a.example/2">link</a>, accessed May 2, 2024</li>'
            '</ul></div></body></html>')
    citations, errors = parse_article(html)
    assert [(c.id, c.url, c.outlet) for c in citations] == [("1", "https://a.example/1", "媒体"),
                                                             ("2", "https://a.example/2", "Outlet")]
    assert errors == []
