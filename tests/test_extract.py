"""extract.py: decoding and what is read off a page. Pure, on tests/pages fixtures and strings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.dates import parse_date
from crawler.extract import decode_html, parse_page

PAGES = Path(__file__).parent / "pages"


def page(name: str, headers: dict[str, str] | None = None):
    return parse_page((PAGES / name).read_bytes(), headers, f"https://example.test/{name}")


def titles_of(p) -> dict[str, str]:
    return dict(p.titles)


@pytest.mark.parametrize("name, headers, codec, title", [
    ("sjis_meta.html", None, "cp932", "米国の和平案、ウクライナに譲歩迫る：読売新聞"),
    ("eucjp_meta.html", None, "euc_jp", "ロシア、和平案を歓迎　欧州は反発 | 日記"),
    ("utf8_labelled_sjis.html", None, "utf-8", "米国の和平案、ウクライナに譲歩迫る：読売新聞"),
    ("cp1252_meta.html", None, "cp1252", "Friedensplan: Selenskyj spricht von schwerer Wahl für die Ukraine – Süddeutsche"),
    # the header wins over <meta> when the bytes are not UTF-8
    ("sjis_meta.html", {"Content-Type": "text/html; charset=Shift_JIS"}, "cp932", "米国の和平案、ウクライナに譲歩迫る：読売新聞"),
    ("bbc_ja.html", {"content-type": "text/html; charset=utf-8"}, "utf-8", "トランプ氏、ウクライナ和平案を提示 ロシア寄りと批判も - BBCニュース"),
])
def test_decoding_gives_the_right_title(name, headers, codec, title):
    _, used = decode_html((PAGES / name).read_bytes(), headers)
    assert used == codec
    assert titles_of(page(name, headers))["title"] == title


def test_header_charset_used_when_meta_is_missing():
    body = "<html><head><title>日本語の見出し</title></head></html>".encode("euc_jp")
    assert titles_of(parse_page(body, {"Content-Type": "text/html; charset=EUC-JP"}))["title"] == "日本語の見出し"


def test_wrong_header_charset_falls_back_to_meta():
    body = '<meta charset="shift_jis"><title>見出し</title>'.encode("cp932")
    assert titles_of(parse_page(body, {"content-type": "text/html; charset=utf-16"}))["title"] == "見出し"


def test_title_candidates_in_reading_order():
    p = page("bbc_ja.html")
    assert [src for src, _ in p.titles] == ["og:title", "jsonld", "title", "h1"]
    assert titles_of(p)["jsonld"] == "トランプ氏、ウクライナ和平案を提示 ロシア寄りと批判も"
    assert p.site_name == "BBCニュース"
    assert p.canonical == "https://www.bbc.com/japanese/articles/c0000000000o"
    assert p.lang == "ja"


def test_bbc_dates_in_meta_name_not_property():
    p = page("bbc_ja.html")
    assert (p.published, p.modified) == ("2025-11-21", "2025-11-21")


def test_local_date_kept_not_converted_to_utc():
    p = page("nikkei.html")      # 20:00+09:00; <time> says 11:00Z the same instant
    assert p.published == "2025-11-22"
    assert p.modified == ""       # JSON-LD dateModified "" is no date
    assert p.is_accessible_for_free is False


def test_text_excludes_navigation_and_scripts():
    p = page("bbc_ja.html")
    assert "ドンバス" in p.text and "ホーム" not in p.text and "schema.org" not in p.text


@pytest.mark.parametrize("html, published", [
    ('<meta property="article:published_time" content="2025-01-14T20:00:00+09:00">', "2025-01-14"),
    ('<script type="application/ld+json">[{"@type":"NewsArticle","datePublished":"20180619T055000+0900"}]</script>', "2018-06-19"),
    ('<meta itemprop="datePublished" content="2021/6/4">', "2021-06-04"),
    ('<meta value="2016-12-14T06:02:15Z" name="og:article:published_time">', "2016-12-14"),
    ('<body><time datetime="2024-02-29T10:00:00-05:00">Feb 29</time></body>', "2024-02-29"),
    ('<meta name="date" content="not a date"><meta name="pubdate" content="2019-04-04">', "2019-04-04"),
])
def test_published_sources(html, published):
    assert parse_page(f"<html><head>{html}</head></html>".encode()).published == published


def test_bad_jsonld_is_ignored():
    p = parse_page(b'<script type="application/ld+json">{oops</script><title>T</title>')
    assert titles_of(p)["title"] == "T"


def test_accessible_for_free_as_string():
    assert page("economist_en.html").is_accessible_for_free is True
    assert page("paywall_jsonld.html").is_accessible_for_free is False
    assert page("jiji.html").is_accessible_for_free is None


@pytest.mark.parametrize("raw, iso", [
    ("2025-11-21T08:15:00.000Z", "2025-11-21"),
    ("2025-11-21T23:30:00-05:00", "2025-11-21"),
    ("20180619T055000+0900", "2018-06-19"),
    ("2021/6/4", "2021-06-04"),
    ("2025年11月22日 20:00", "2025-11-22"),
    ("1529283660000", "2018-06-18"),
    ("Tue, 19 Feb 2020 12:00:00 GMT", "2020-02-19"),
    ("June 4, 2021", "2021-06-04"),
    ("3178894", ""),
    ("2025-13-40", ""),
    ("", ""),
])
def test_parse_date(raw, iso):
    assert parse_date(raw) == iso


def test_empty_and_binary_bodies_do_not_raise():
    assert parse_page(b"").titles == ()
    assert parse_page(b"%PDF-1.7\x00\xff\xfe garbage").titles == ()



@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from([None, {"content-type": "text/html; charset=shift_jis"},
                                                  {"Content-Type": "text/html; charset=bogus-charset"}]))
def test_parse_page_never_raises(body, headers):
    page = parse_page(b"<html><head><title>" + body + b"</title></head><body>" + body, headers)
    assert isinstance(page.text, str)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parse_date_returns_iso_or_empty(raw):
    out = parse_date(raw)
    assert out == "" or (len(out) == 10 and out[4] == "-" and out[7] == "-")
