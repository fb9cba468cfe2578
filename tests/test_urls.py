"""urls.py: pure URL helpers."""

from __future__ import annotations

import pytest

from crawler import urls
from crawler.verify import PROBE_LETTERS, probe_url


@pytest.mark.parametrize("raw, norm", [
    ("HTTPS://WWW.Example.COM:443/a/b?utm_source=x&id=3#frag", "https://www.example.com/a/b?id=3"),
    ("http://example.com", "http://example.com/"),
    ("http://example.com:8080/x?ref=rss", "http://example.com:8080/x"),
])
def test_normalise(raw, norm):
    assert urls.normalise(raw) == norm


def test_host_key():
    assert urls.host_key("https://www.bbc.com/japanese/x") == "bbc.com"
    assert urls.host_key("https://jp.reuters.com/x") == "jp.reuters.com"


@pytest.mark.parametrize("url, home", [
    ("https://www.bbc.com/", True),
    ("https://www.bbc.com", True),
    ("https://www.bbc.com/japanese", True),
    ("https://www.example.com/index.html", True),
    ("https://www.bloomberg.com/jp/", True),
    ("https://www.bbc.com/japanese/articles/c0000000000o", False),
    ("https://www.jiji.com/jc/article?k=2025112200123", False),
    ("https://www.cnn.co.jp/world/35240000.html", False),
])
def test_is_home(url, home):
    assert urls.is_home(url) is home


@pytest.mark.parametrize("final, cited, section", [
    ("https://www.bbc.com/japanese/articles/", "https://www.bbc.com/japanese/articles/c0000000000o", True),
    ("https://www.cnn.co.jp/world/", "https://www.cnn.co.jp/world/35240000.html", True),
    ("https://www.cnn.co.jp/world/index.html", "https://www.cnn.co.jp/world/35240000.html", True),
    ("https://www.cnn.co.jp/world/35240001.html", "https://www.cnn.co.jp/world/35240000.html", False),
    ("https://other.example/world/", "https://www.cnn.co.jp/world/35240000.html", False),
])
def test_is_section_index(final, cited, section):
    assert urls.is_section_index(final, cited) is section


@pytest.mark.parametrize("a, b, same", [
    ("http://bbc.com/japanese/articles/x", "https://www.bbc.com/japanese/articles/x/", True),
    ("https://www.cnn.co.jp/world/1.html?ref=rss", "https://www.cnn.co.jp/world/1.html", True),
    ("https://www.jiji.com/jc/article?k=1", "https://www.jiji.com/jc/article?k=2", False),
    ("https://a.example/x", "https://b.example/x", False),
])
def test_same_article(a, b, same):
    assert urls.same_article(a, b) is same


@pytest.mark.parametrize("url, parent", [
    ("http://site.com", "http://site.com/"),
    ("http://site.com/one", "http://site.com/"),
    ("http://site.com/one/two", "http://site.com/one/"),
    ("http://site.com/one/two/", "http://site.com/one/"),
    ("https://www.jiji.com/jc/article?k=1", "https://www.jiji.com/jc/"),
])
def test_parent_dir(url, parent):
    assert urls.parent_dir(url) == parent


def test_probe_url_is_random_letters_under_parent():
    a, b = probe_url("https://www.cnn.co.jp/world/35240000.html"), probe_url("https://www.cnn.co.jp/world/35240000.html")
    assert a.startswith("https://www.cnn.co.jp/world/") and a != b
    tail = a.rsplit("/", 1)[1]
    assert len(tail) == PROBE_LETTERS and tail.isalpha() and tail.islower()


@pytest.mark.parametrize("url, deep", [
    ("https://www.example.com/", False),
    ("https://www.example.com/japanese", False),
    ("https://www.example.com/sport", False),
    ("https://www.example.com/putin-has-already-won", True),
    ("https://www.example.com/35240000.html", True),
    ("https://www.example.com/article?id=3", True),
    ("https://foreignpolicy.com/2025/11/25/putin-west-russia-ukraine-won/", True),
])
def test_is_deep(url, deep):
    assert urls.is_deep(url) is deep
