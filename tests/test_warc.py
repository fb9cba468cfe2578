"""WARC snapshots: valid files (warcio check/index), dedup, noarchive, index offsets, crashes."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from sqlite_utils import Database

from crawler.model import Fetched
from crawler.warc import WarcWriter, is_noarchive, recover
from crawler.warc_read import read_snapshot

WARCIO = Path(sys.executable).parent / "warcio"
UA = {"User-Agent": "crawler-test/0.1 (+https://example.invalid/bot)"}


def fetched(url: str, body: bytes, when: str = "2025-12-22T10:00:00+00:00", **kw) -> Fetched:
    headers = kw.pop("headers", {"content-type": "text/html; charset=utf-8"})
    return Fetched(url=url, final_url=kw.pop("final_url", url), status_code=kw.pop("code", 200),
                   headers=headers, body=body, fetched_at=when, remote_addr="127.0.0.1", **kw)


def fetch_live(url: str) -> Fetched:
    """A Fetched built from a real loopback fetch, as fetch.py would hand it over."""
    r = httpx.get(url, headers=UA)
    return Fetched(url=url, final_url=str(r.url), status_code=r.status_code,
                   headers={k.lower(): v for k, v in r.headers.items()}, body=r.content,
                   fetched_at="2025-12-22T10:00:00+00:00", remote_addr="127.0.0.1")


def warcio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(WARCIO), *args], capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "crawler.db")


def warcs(d: Path) -> list[Path]:
    return sorted(d.glob("*.warc.gz"))


def test_files_pass_warcio_check_and_index(web, tmp_path, db):
    site = web()
    a = site.page("/a", title="Alpha")
    b = site.page("/b", title="Beta", headers={"X-Extra": "1"})
    with WarcWriter(tmp_path / "warc", db, run_id=1) as w:
        refs = [w.write(fetch_live(a), UA), w.write(fetch_live(b), UA)]
    [path] = warcs(tmp_path / "warc")
    assert not list((tmp_path / "warc").glob("*.open"))
    check = warcio("check", "-v", str(path))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout and "fail" not in check.stdout.lower()
    index = warcio("index", "-f", "offset,length,warc-type,warc-target-uri", str(path))
    assert index.returncode == 0, index.stderr
    lines = [json.loads(line) for line in index.stdout.splitlines()]
    assert [x["warc-type"] for x in lines] == ["warcinfo", "response", "request",
                                               "response", "request"]
    by_offset = {int(x["offset"]): x for x in lines}
    for ref in refs:
        assert ref is not None and ref.file == str(path.resolve())
        assert int(by_offset[ref.offset]["length"]) == ref.length
    stored = {(r["offset"], r["length"]) for r in db["snapshots"].rows}
    assert stored == {(int(x["offset"]), int(x["length"])) for x in lines[1:]}


def test_index_offsets_read_back_exact_payload(tmp_path, db):
    body = "<html><title>日本語</title>\x00binary\xff</html>".encode("utf-8", "surrogatepass")
    with WarcWriter(tmp_path, db, run_id=1) as w:
        w.write(fetched("http://x.test/p", b"<html>old</html>", "2025-01-01T00:00:00+00:00"), UA)
        ref = w.write(fetched("http://x.test/p", body, "2025-06-01T00:00:00+00:00",
                              final_url="http://x.test/moved", truncated=True), UA)
    snap = read_snapshot(db, "http://x.test/p")              # latest
    assert snap is not None and snap.payload == body and snap.ref == ref
    assert ("WARC-Truncated", "length") in snap.record_headers
    assert snap.status_line == "HTTP/1.1 200 OK"
    assert read_snapshot(db, "http://x.test/moved").payload == body     # by final URL too
    early = read_snapshot(db, "http://x.test/p", at=dt.date(2025, 2, 1))
    assert early.payload == b"<html>old</html>"
    assert read_snapshot(db, "http://nowhere.test/") is None


def test_wire_encoding_headers_do_not_describe_stored_body(tmp_path, db):
    """httpx hands over decoded bytes: a kept Content-Encoding would make replay gunzip them."""
    f = fetched("http://x.test/gz", b"plain text", headers={
        "content-type": "text/plain", "content-encoding": "gzip", "content-length": "31",
        "transfer-encoding": "chunked"})
    with WarcWriter(tmp_path, db, run_id=1) as w:
        w.write(f, UA)
    headers = dict(read_snapshot(db, "http://x.test/gz").http_headers)
    assert "content-encoding" not in headers and "transfer-encoding" not in headers
    assert headers["Content-Length"] == "10"
    assert headers["x-crawler-orig-content-encoding"] == "gzip"
    assert warcio("check", str(warcs(tmp_path)[0])).returncode == 0


def test_undecoded_coding_keeps_its_header(tmp_path, db):
    """fetch only decodes gzip/deflate; a br body is stored as it came, so says so."""
    f = fetched("http://x.test/br", b"\x8b\x03br-bytes", headers={"content-encoding": "br"})
    with WarcWriter(tmp_path, db, run_id=1) as w:
        w.write(f, UA)
    assert ("content-encoding", "br") in read_snapshot(db, "http://x.test/br").http_headers


def test_identical_payload_across_runs_is_a_revisit(tmp_path, db):
    body = b"<html><title>Same</title>" + b"x" * 50_000 + b"</html>"
    with WarcWriter(tmp_path, db, run_id=1) as w:
        first = w.write(fetched("http://x.test/a", body), UA)
    with WarcWriter(tmp_path, db, run_id=2) as w:
        second = w.write(fetched("http://x.test/a", body, "2025-12-23T10:00:00+00:00"), UA)
        other = w.write(fetched("http://x.test/b", b"<html>new</html>"), UA)
    assert first.record_type == "response"
    assert second.record_type == "revisit" and second.digest == first.digest
    assert other.record_type == "response"
    assert second.length < 2_000                     # no second copy of the 50 kB payload
    snap = read_snapshot(db, "http://x.test/a")
    assert snap.ref == second and snap.payload == body
    headers = dict(snap.record_headers)
    assert headers["WARC-Profile"].endswith("/warc/1.1/revisit/identical-payload-digest")
    assert headers["WARC-Refers-To-Target-URI"] == "http://x.test/a"
    for path in warcs(tmp_path):
        assert warcio("check", str(path)).returncode == 0


def test_not_modified_is_a_server_not_modified_revisit(tmp_path, db):
    body = b"<html>cached</html>"
    with WarcWriter(tmp_path, db, run_id=1) as w:
        assert w.write(fetched("http://x.test/c", body, code=304, from_cache=True), UA) is None
        w.write(fetched("http://x.test/c", body), UA)
        ref = w.write(fetched("http://x.test/c", body, "2025-12-23T10:00:00+00:00", code=304,
                              from_cache=True), UA)
    assert ref.record_type == "revisit"
    snap = read_snapshot(db, "http://x.test/c")
    assert dict(snap.record_headers)["WARC-Profile"].endswith("/revisit/server-not-modified")
    assert snap.status_line == "HTTP/1.1 304 Not Modified" and snap.payload == body
    assert warcio("check", str(warcs(tmp_path)[0])).returncode == 0


@pytest.mark.parametrize("headers, head, expected", [
    ({"X-Robots-Tag": "noarchive"}, "", True),
    ({"X-Robots-Tag": "googlebot: noindex, noarchive"}, "", True),
    ({}, '<meta name="robots" content="noindex, noarchive">', True),
    ({}, "<META content='NOARCHIVE' name=ROBOTS>", True),
    ({}, '<meta name="description" content="noarchive is a word">', False),
    ({"X-Robots-Tag": "noindex"}, '<meta name="robots" content="nofollow">', False),
])
def test_noarchive_respected_unless_archive_all(web, tmp_path, db, headers, head, expected):
    site = web()
    url = site.page("/p", title="P", head=head, headers=headers)
    f = fetch_live(url)
    assert is_noarchive(f.headers, f.body) is expected
    with WarcWriter(tmp_path / "polite", db, run_id=1) as w:
        assert (w.write(f, UA) is None) is expected
    with WarcWriter(tmp_path / "all", db, run_id=2, archive_all=True) as w:
        assert w.write(f, UA) is not None


def test_unanswered_fetch_is_not_archived(tmp_path, db):
    from crawler.model import Status
    with WarcWriter(tmp_path, db, run_id=1) as w:
        assert w.write(Fetched(url="http://x.test/", outcome=Status.TIMEOUT), UA) is None
    assert warcs(tmp_path) == []                        # no pages, no file


WRITER_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from sqlite_utils import Database
    from crawler.model import Fetched
    from crawler.warc import WarcWriter
    d, dbpath = Path(sys.argv[1]), sys.argv[2]
    db = Database(dbpath)
    def page(i, run):
        return Fetched(url=f"http://x.test/{run}/{i}", status_code=200,
                       headers={"content-type": "text/html"},
                       body=(f"<html>{run} {i}</html>" + "y" * 20000).encode(),
                       fetched_at="2025-12-22T10:00:00+00:00")
    with WarcWriter(d, db, run_id=1) as w:          # an earlier, finished run
        for i in range(3):
            w.write(page(i, "one"), {})
    w = WarcWriter(d, db, run_id=2).__enter__()     # killed mid-run: never closed
    i = 0
    while True:
        w.write(page(i, "two"), {})
        print("wrote", i, flush=True)
        i += 1
""")


def test_killed_writer_leaves_valid_files_and_consistent_index(tmp_path, db):
    d = tmp_path / "warc"
    proc = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(d), str(tmp_path / "crawler.db")],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    for _ in range(5):
        assert proc.stdout.readline().startswith("wrote")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    [finished] = warcs(d)
    assert warcio("check", str(finished)).returncode == 0       # earlier file untouched
    [partial] = d.glob("*.open")
    with open(partial, "ab") as f:                  # as if killed inside a record
        f.write(b"\x1f\x8b\x08\x00 half a gzip member")
    [recovered] = recover(d, db)
    assert not list(d.glob("*.open")) and recovered.exists()
    for path in warcs(d):
        check = warcio("check", str(path))
        assert check.returncode == 0, check.stdout
    assert_index_matches_files(db, d)


def assert_index_matches_files(db: Database, d: Path) -> None:
    """Every indexed record is exactly where the index says, and nothing is unindexed."""
    for path in warcs(d):
        index = warcio("index", "-f", "offset,length,warc-type", str(path))
        on_disk = {(int(x["offset"]), int(x["length"])) for x in map(json.loads, index.stdout.splitlines())
                   if x["warc-type"] != "warcinfo"}
        rows = {(r["offset"], r["length"]) for r in db["snapshots"].rows_where(
            "file = ?", [str(path.resolve())])}
        assert rows == on_disk
    for row in db["snapshots"].rows_where("record_type = 'response'"):
        assert read_snapshot(db, row["url"]).payload.startswith(b"<html>")


def test_failed_write_is_cut_off_and_reported(tmp_path, db, monkeypatch):
    with WarcWriter(tmp_path, db, run_id=1) as w:
        w.write(fetched("http://x.test/a", b"<html>a</html>"), UA)
        real_index = w._index

        def store_busy(*args):
            raise sqlite3.OperationalError("database is locked")
        monkeypatch.setattr(w, "_index", store_busy)
        assert w.write(fetched("http://x.test/b", b"<html>b</html>"), UA) is None
        monkeypatch.setattr(w, "_index", real_index)
        assert w.write(fetched("http://x.test/c", b"<html>c</html>"), UA) is not None
    assert w.errors == ["http://x.test/b: not archived: OperationalError: database is locked"]
    [path] = warcs(tmp_path)
    assert warcio("check", str(path)).returncode == 0
    assert_index_matches_files(db, tmp_path)


def test_unwritable_directory_is_an_error_value(tmp_path, db):
    d = tmp_path / "warc"
    with WarcWriter(d, db, run_id=1) as w:
        d.rmdir()
        d.write_text("not a directory")           # (chmod would not stop root)
        assert w.write(fetched("http://x.test/a", b"<html>a</html>"), UA) is None
    assert len(w.errors) == 1 and "NotADirectoryError" in w.errors[0]


def test_recover_drops_a_file_with_nothing_indexed(tmp_path, db):
    d = tmp_path / "warc"
    d.mkdir()
    (d / "crawler-run9-x.warc.gz.open").write_bytes(b"\x1f\x8b partial warcinfo")
    assert recover(d, db) == []
    assert list(d.iterdir()) == []


def test_recover_skips_a_file_a_live_writer_holds(tmp_path, db):
    d = tmp_path / "warc"
    with WarcWriter(d, db, run_id=1) as w:
        w.write(fetched("http://x.test/a", b"<html>a</html>"), UA)
        assert recover(d, db) == []                 # locked: still being written
        assert len(list(d.glob("*.open"))) == 1
        assert read_snapshot(db, "http://x.test/a").payload == b"<html>a</html>"
    assert len(warcs(d)) == 1


@pytest.mark.skipif(not shutil.which("wb-manager"), reason="pywb not installed (optional)")
def test_pywb_replays_response_and_cross_file_revisit(tmp_path, db):
    """The standard replay tool serves both captures, the revisit resolved to run 1's payload."""
    body = b"<html><title>Replay me</title><p>marker-7f3a</p></html>"
    d = tmp_path / "warc"
    for run_id, when in ((1, "2025-12-01T10:00:00+00:00"), (2, "2025-12-22T10:00:00+00:00")):
        with WarcWriter(d, db, run_id=run_id) as w:
            w.write(fetched("http://news.test/a", body, when,
                            headers={"content-type": "text/html", "content-encoding": "gzip"}), UA)
    pywb = tmp_path / "pywb"
    pywb.mkdir()
    subprocess.run(["wb-manager", "init", "coll"], cwd=pywb, check=True, capture_output=True)
    subprocess.run(["wb-manager", "add", "coll", *map(str, warcs(d))], cwd=pywb, check=True,
                   capture_output=True)
    host = "127.0.0.251"
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["wayback", "-b", host, "-p", str(port)], cwd=pywb,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for ts in ("20251201100000", "20251222100000"):
            r = _poll(f"http://{host}:{port}/coll/{ts}id_/http://news.test/a")
            assert r.status_code == 200 and r.content == body
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _poll(url: str, seconds: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
