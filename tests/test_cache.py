"""The disk cache: conditional requests on the next run, 304 reuse, corrupt entries."""

from __future__ import annotations

import json

from test_fetch import fetch_one

from crawler.cache import Cache
from crawler.model import Attempt


def two_runs(url: str, cache_dir, **kw):
    first = fetch_one(url, cache_dir=cache_dir, **kw)
    attempts: list[Attempt] = []
    second = fetch_one(url, attempts, cache_dir=cache_dir, **kw)
    return first, second, attempts


def test_second_run_sends_validators_and_reuses_body_on_304(web, tmp_path):
    site = web()
    url = site.etag("/e", '"v1"', b"<title>Cached</title>", last_modified="Wed, 01 Jan 2025 00:00:00 GMT")
    first, second, attempts = two_runs(url, tmp_path)
    assert (first.status_code, first.from_cache) == (200, False)
    assert (second.status_code, second.from_cache, second.body) == (200, True, first.body)
    assert second.headers.get("etag") == '"v1"'
    assert [(a.status_code, a.from_cache) for a in attempts] == [(304, True)]
    h1, h2 = site.hits("/e")
    assert "if-none-match" not in h1.headers
    assert h2.headers["if-none-match"] == '"v1"'
    assert h2.headers["if-modified-since"] == "Wed, 01 Jan 2025 00:00:00 GMT"


def test_last_modified_alone_is_enough(web, tmp_path):
    site = web()
    lm = "Tue, 02 Jan 2024 00:00:00 GMT"
    url = site.raw("/lm", b"body", headers={"Last-Modified": lm})
    fetch_one(url, cache_dir=tmp_path)
    fetch_one(url, cache_dir=tmp_path)
    assert site.hits("/lm")[1].headers["if-modified-since"] == lm


def test_changed_page_replaces_the_entry(web, tmp_path):
    site = web()
    url = site.etag("/e", '"v1"', b"one")
    fetch_one(url, cache_dir=tmp_path)
    site.etag("/e", '"v2"', b"two")
    r = fetch_one(url, cache_dir=tmp_path)
    assert (r.body, r.from_cache) == (b"two", False)
    assert Cache(tmp_path).lookup(url)[0].etag == '"v2"'


def test_corrupt_entry_is_discarded_and_refetched(web, tmp_path):
    site = web()
    url = site.etag("/e", '"v1"', b"fresh body")
    fetch_one(url, cache_dir=tmp_path)
    [entry] = (tmp_path / "entries").iterdir()
    entry.write_text('{"url": "' + url + '", "etag": "')          # torn write
    r = fetch_one(url, cache_dir=tmp_path)
    assert (r.body, r.from_cache) == (b"fresh body", False)
    assert "if-none-match" not in site.hits("/e")[-1].headers
    assert json.loads(entry.read_text())["etag"] == '"v1"'             # rewritten whole


def test_body_hash_mismatch_is_discarded_and_refetched(web, tmp_path):
    site = web()
    url = site.etag("/e", '"v1"', b"true body")
    fetch_one(url, cache_dir=tmp_path)
    [body] = (tmp_path / "bodies").iterdir()
    body.write_bytes(b"tampered")
    r = fetch_one(url, cache_dir=tmp_path)
    assert (r.body, r.from_cache) == (b"true body", False)
    assert "if-none-match" not in site.hits("/e")[-1].headers


def test_missing_body_file_is_a_miss(web, tmp_path):
    site = web()
    url = site.etag("/e", '"v1"', b"text")
    fetch_one(url, cache_dir=tmp_path)
    for body in (tmp_path / "bodies").iterdir():
        body.unlink()
    assert Cache(tmp_path).lookup(url) is None
    assert list((tmp_path / "entries").iterdir()) == []


def test_refresh_bypasses_validators(web, tmp_path):
    site = web()
    url = site.etag("/e", '"v1"', b"text")
    fetch_one(url, cache_dir=tmp_path)
    r = fetch_one(url, cache_dir=tmp_path, refresh=True)
    assert not r.from_cache and "if-none-match" not in site.hits("/e")[-1].headers


def test_no_validators_no_entry_and_no_temp_files(web, tmp_path):
    site = web()
    fetch_one(site.page("/plain"), cache_dir=tmp_path)
    url = site.etag("/e", '"v1"', b"x")
    fetch_one(url, cache_dir=tmp_path)
    names = [p.name for p in tmp_path.rglob("*")]
    assert len(list((tmp_path / "entries").iterdir())) == 1
    assert not any(n.startswith(".tmp-") for n in names)


def test_identical_bodies_share_one_file(tmp_path):
    cache = Cache(tmp_path)
    cache.store("http://a/1", {"etag": '"x"'}, b"same")
    cache.store("http://a/2", {"etag": '"y"'}, b"same")
    assert len(list((tmp_path / "bodies").iterdir())) == 1
    assert cache.lookup("http://a/2")[1] == b"same"


def test_unwritable_cache_does_not_lose_the_page(web, tmp_path):
    site = web()
    url = site.etag("/e", '"v1"', b"the page")
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    r = fetch_one(url, cache_dir=blocker)
    assert (r.status_code, r.body, r.outcome) == (200, b"the page", None)
    cache = Cache(blocker)
    assert not cache.store(url, {"etag": '"v1"'}, b"x") and cache.write_errors
