"""`make reliability`: hostile input, measured. Counts what was tried, what survived, what was lost.

Every section feeds the crawler something hostile and checks the same three things:
each input ends in a clear status (a `Status` from the vocabulary, or a one-line error
for the whole run), the run finishes, and nothing recorded is lost (one verdict per
citation, earlier runs intact). "survived" counts inputs that met all three; "lost"
counts citations that ended without a verdict (or stored rows that went missing).

Sections:
  hostile web     one check over a loopback web of hostile servers: trickle, never-ending
                  body, gzip bomb, redirect loop, 1,000 redirects, 429 storm, invalid charset,
                  binary served as HTML, broken TLS (plain TCP answering garbage to https://),
                  a 10,000-entry robots.txt, a megabyte title, a hang, a dropped connection,
                  invalid URLs
  full disk       the cache and WARC writes fail with ENOSPC (/dev/full) or ENOTDIR
  read-only store `crawler check` and `crawler report` on a store nobody may write
  malformed files registries (binary, UTF-16, 5 MB field, 10,000 columns, NUL, ...) through
                  `validate` and `check`, articles through `parse`: exit 0-3, never a traceback
  fuzz pages      hypothesis: random bytes / HTML-ish text / headers through parse_page + judge
  fuzz registry   hypothesis: random citation fields through a real check (loopback only)
  fuzz csv        hypothesis: random CSV files through crawler.registry.load_csv (if present)
  fuzz article    hypothesis: random footnote text through the article parser (if present)

usage: python bench/reliability.py [--short] [--examples N]
tests/test_reliability.py runs the short form in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import itertools
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from server import Response, Site, html_page

from crawler.registry import COLUMNS as REGISTRY_COLUMNS
from crawler import store
from crawler.check import CheckOptions, check
from crawler.fetch import FetchConfig
from crawler.model import Citation, RowError, Status

VOCABULARY = {s.value for s in Status}
MISMATCH = "ok+title_mismatch"      # answered, but flagged: the title is not the cited one


@dataclass(frozen=True)
class Form:
    examples: int = 100              # hypothesis examples per fuzz section
    registry_examples: int = 30      # checks over fuzzed registry rows (each a real run)
    bomb: int = 64 << 20             # gzip bomb inflated size
    redirects: int = 1000
    robots_entries: int = 10_000
    title_bytes: int = 1 << 20
    total_timeout: float = 2.5       # trickle / hang end here (room for 11 hops on a busy 2-core CI box)
    retries: int = 0                 # in-pass retries (the end-of-run pass still tries again)


SHORT = Form()
LONG = Form(examples=3000, registry_examples=300, bomb=1 << 30, total_timeout=3.0, retries=1)


@dataclass
class Tally:
    section: str
    input: str
    tried: int = 0
    survived: int = 0
    lost: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.tried > 0 and self.survived == self.tried and self.lost == 0


Hosts = Callable[[], Site]


def loopback_hosts(first: int = 20) -> Hosts:
    """Sites on 127.0.<first>.1, .2, ... (the tests use 127.0.0.x)."""
    counter = itertools.count(1)
    return lambda: Site(f"127.0.{first}.{next(counter)}")


def fetch_config(tmp: Path, form: Form, **kw) -> FetchConfig:
    base = dict(allow_private=True, delay=0.0, max_retries=form.retries, backoff_base=0.05,
                retry_after_cap=5.0, connect_timeout=2.0, read_timeout=form.total_timeout,
                total_timeout=form.total_timeout, cache_dir=tmp / "cache" / "http")
    base.update(kw)
    return FetchConfig(**base)


def article(title: str) -> bytes:
    head = (f'<meta property="og:title" content="{title}">'
            '<meta property="article:published_time" content="2025-01-09T10:00:00+09:00">')
    return html_page(f"{title} | Outlet", f"<h1>{title}</h1>" + "<p>Article text. </p>" * 30,
                     head)


def cite(i: int | str, url: str, title: str = "Ceasefire talks resume in Geneva") -> Citation:
    return Citation(id=str(i), title=title, outlet="Outlet", published="2025-01-09", url=url,
                    accessed="2025-12-22", lang="en")


# -- servers that are not HTTP at all ---------------------------------------------------------

class GarbageTCP:
    """Accepts, reads a little, answers bytes that are neither TLS nor HTTP, closes."""

    def __init__(self, host: str):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.host = host
        self.hits = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._serve, daemon=True)
        self._t.start()

    def _serve(self) -> None:
        while not self._stop.is_set():           # bounded by close()
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.hits += 1
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    conn.recv(4096)
                    conn.sendall(b"\x00\xffHELLO this is not TLS\r\n" * 20)

    def url(self, path: str = "/", scheme: str = "https") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"

    def close(self) -> None:
        self._stop.set()
        self._t.join(2)
        self.sock.close()


# -- section: hostile web ---------------------------------------------------------------------

def _hostile_web(new_site: Hosts, form: Form, garbage_host: str
                 ) -> tuple[list[tuple[str, Citation, set[str]]], list, Callable[[], dict]]:
    """(input name, citation, acceptable statuses) per hostile behaviour, servers to close,
    and a probe of server-side facts checked after the run."""
    cases: list[tuple[str, Citation, set[str]]] = []
    closers: list = []
    facts: dict[str, Callable[[], object]] = {}

    def site() -> Site:
        s = new_site()
        closers.append(s)
        return s

    s = site()
    cases.append(("trickle (1 byte / 0.2 s)", cite(1, s.slow_drip("/drip")), {"timeout"}))
    s = site()
    cases.append(("never-ending body", cite(2, s.endless("/endless", limit=64 << 20)),
                  {"too_large", "timeout", MISMATCH}))
    s = site()
    cases.append((f"gzip bomb ({form.bomb >> 20} MiB)", cite(3, s.gzip_bomb("/bomb", form.bomb)),
                  {"too_large"}))
    s = site()
    cases.append(("redirect loop", cite(4, s.redirect_loop("/a", "/b")), {"redirect_loop"}))
    s = site()
    for i in range(form.redirects):
        s.redirect(f"/r/{i}", f"/r/{i + 1}", 302)
    s.route(f"/r/{form.redirects}", Response(200, article("Ceasefire talks resume in Geneva")))
    cases.append((f"{form.redirects} redirects", cite(5, s.url("/r/0")), {"redirect_loop"}))
    facts["redirect hops requested"] = lambda s=s: len(
        [h for h in s.hits() if h.path.startswith("/r/")])
    s = site()
    cases.append(("429 storm", cite(6, s.storm_429("/storm", "1")), {"blocked"}))
    s = site()
    body = article("Ceasefire talks resume in Geneva").replace(b"utf-8", b"x-no-such-charset")
    cases.append(("invalid charset", cite(7, s.raw("/charset", body, headers={
        "Content-Type": "text/html; charset=x-no-such-charset"})), {"ok"}))
    s = site()
    noise = bytes((i * 7919 + 13) % 256 for i in range(200_000))
    cases.append(("binary data as text/html", cite(8, s.raw("/bin", noise, headers={
        "Content-Type": "text/html"})), {"too_large", "soft_404", MISMATCH}))
    tcp = GarbageTCP(garbage_host)
    closers.append(tcp)
    cases.append(("broken TLS (garbage over TCP)", cite(9, tcp.url("/tls")),
                  {"tls_error", "connection_error"}))
    s = site()
    rules = "\n".join(f"Disallow: /private/{i}/" for i in range(form.robots_entries))
    s.robots(f"User-agent: *\n{rules}\nDisallow: /last-rule\n")
    s.route("/allowed", Response(200, article("Ceasefire talks resume in Geneva")))
    s.route("/last-rule", Response(200, article("Ceasefire talks resume in Geneva")))
    cases.append((f"robots.txt of {form.robots_entries} rules: allowed page",
                  cite(10, s.url("/allowed")), {"ok"}))
    cases.append((f"robots.txt of {form.robots_entries} rules: last rule",
                  cite(11, s.url("/last-rule")), {"robots_disallowed"}))
    s = site()
    big = "Ceasefire " * (form.title_bytes // 10)
    cases.append(("title of a megabyte", cite(12, s.raw("/bigtitle", html_page(big, "<p>x</p>"),
                                                       headers={"Content-Type": "text/html"})),
                  {"too_large", "soft_404", MISMATCH}))
    s = site()
    cases.append(("hang (no answer)", cite(13, s.hang("/hang", form.total_timeout + 3)),
                  {"timeout"}))
    s = site()
    cases.append(("connection dropped", cite(14, s.drop("/drop")), {"connection_error"}))
    cases.append(("invalid URL: ftp://", cite(15, "ftp://127.0.0.1/file"), {"invalid_url"}))
    cases.append(("invalid URL: empty", cite(16, ""), {"invalid_url"}))
    cases.append(("invalid URL: http:// (no host)", cite(17, "http://"), {"invalid_url"}))
    cases.append(("invalid URL: spaces and NUL", cite(18, "http://exa mple\x00.test/ x"),
                  {"invalid_url", "dns_error"}))
    cases.append(("invalid URL: http://[::1 (bad IPv6)", cite(21, "http://[::1"), {"invalid_url"}))
    cases.append(("invalid URL: port 99999", cite(22, "http://127.0.0.1:99999/x"),
                  {"invalid_url"}))
    cases.append(("invalid URL: port abc", cite(23, "http://127.0.0.1:abc/x"), {"invalid_url"}))
    s = site()
    cases.append(("404 with a 5 MB body", cite(19, s.status(
        "/big404", 404, body=b"<html><title>Not found</title>" + b"x" * 5_000_000)),
        {"not_found"}))
    s = site()
    cases.append(("gzip that is not gzip", cite(20, s.raw("/badgz", b"not gzip at all" * 100,
                                                           headers={"Content-Encoding": "gzip",
                                                                    "Content-Type": "text/html"})),
                  {"connection_error"}))
    return cases, closers, facts   # type: ignore[return-value]


def hostile_web(tmp: Path, form: Form, new_site: Hosts, garbage_host: str) -> list[Tally]:
    cases, closers, facts = _hostile_web(new_site, form, garbage_host)
    tallies = []
    try:
        db = store.open_db(tmp / "hostile.db")
        opts = CheckOptions(fetch=fetch_config(tmp, form), archive_dir=str(tmp / "cache" / "warc"))
        error = ""
        try:
            outcome = check(db, [c for _, c, _ in cases], opts)
            state = outcome.state
        except Exception as exc:  # noqa: BLE001              # a crash is a finding, not the end of the suite
            state, error = "crashed", f"{type(exc).__name__}: {exc}"
        got = {i: MISMATCH if s == "ok" and m == 0 else s for i, s, m in db.execute(
            "select citation_id, status, title_match from results")}
        titles = dict(db.execute("select citation_id, length(page_title) from results"))
        for name, c, want in cases:
            t = Tally("hostile web", name, tried=1)
            status = got.get(c.id)
            if status is None:
                t.lost = 1
                t.notes.append(f"no verdict (run {state}) {error}".strip())
            elif status in want and state == "finished":
                t.survived = 1
                t.notes.append(status)
            else:
                t.notes.append(f"{status} (expected {'/'.join(sorted(want))[:60]}; run {state})")
            if c.id == "12":
                stored = titles.get(c.id) or 0
                t.notes.append(f"stored title {stored} chars")
                if stored > 2000:      # kept once per run, in every report: must be capped
                    t.survived = 0
            tallies.append(t)
        by_name = {t.input: t for t in tallies}
        hops = facts["redirect hops requested"]()
        t = by_name[f"{form.redirects} redirects"]
        t.notes.append(f"{hops} hops requested (limit 10 redirects: 11)")
        if hops > 11:          # a second attempt: a stall of the loop was charged as a timeout
            t.survived = 0
        integrity = db.execute("pragma integrity_check").fetchone()[0]
        if integrity != "ok":
            tallies.append(Tally("hostile web", "store integrity", 1, 0, 0, [integrity]))
    finally:
        for c in closers:
            c.close()
    return tallies


# -- section: full disk -----------------------------------------------------------------------

@contextlib.contextmanager
def disk_full() -> Iterator[None]:
    """Every cache and WARC file write lands on /dev/full (ENOSPC), as on a full disk."""
    import crawler.cache as cache_mod
    import crawler.warc as warc_mod
    real_mkstemp = cache_mod.tempfile.mkstemp

    def mkstemp(*a, **kw):                   # a real name (so cleanup works), a full device
        fd, name = real_mkstemp(*a, **kw)
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), name

    def warc_open(path, mode="r", *a, **kw):
        if "x" in mode or "w" in mode or "a" in mode:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return open(path, mode, *a, **kw)

    class _TempfileProxy:
        def __getattr__(self, name):
            return mkstemp if name == "mkstemp" else getattr(tempfile, name)

    cache_mod.tempfile = _TempfileProxy()      # type: ignore[assignment]
    warc_mod.open = warc_open                  # type: ignore[attr-defined]
    try:
        yield
    finally:
        cache_mod.tempfile = tempfile
        del warc_mod.open


def full_disk(tmp: Path, form: Form, new_site: Hosts) -> list[Tally]:
    s = new_site()
    try:
        cits = []
        for i in range(5):
            title = f"Ceasefire talks resume in Geneva, part {i}"
            s.etag(f"/p/{i}", f'"v{i}"', article(title))       # validators: the cache wants it
            cits.append(cite(i + 1, s.url(f"/p/{i}"), title))
        out = []
        for label, ctx, cache_dir, warc_dir in [
            ("cache + WARC on a full disk (ENOSPC)", disk_full(), tmp / "full" / "http",
             tmp / "full" / "warc"),
            ("cache + WARC dir is a file (ENOTDIR)", contextlib.nullcontext(),
             tmp / "afile" / "http", tmp / "afile" / "warc"),
        ]:
            (tmp / "afile").write_text("not a directory")
            t = Tally("full disk", label, tried=len(cits))
            db = store.open_db(tmp / f"disk-{len(out)}.db")
            try:
                with ctx:
                    outcome = check(db, cits, CheckOptions(
                        fetch=fetch_config(tmp, form, cache_dir=cache_dir),
                        archive_dir=str(warc_dir)))
                got = dict(db.execute("select citation_id, status from results"))
                t.lost = sum(c.id not in got for c in cits)
                t.survived = sum(got.get(c.id) == "ok" for c in cits) if (
                    outcome.state == "finished") else 0
                t.notes.append(", ".join(sorted(set(got.values()))) or "no verdicts")
            except Exception as exc:  # noqa: BLE001 (a crash is a finding)
                t.lost = len(cits) - db.execute("select count(*) from results").fetchone()[0]
                t.notes.append(f"crashed: {type(exc).__name__}: {str(exc)[:80]}")
            out.append(t)
        return out
    finally:
        s.close()


# -- section: read-only store -----------------------------------------------------------------

COLUMNS = list(REGISTRY_COLUMNS)


def crawler_argv() -> list[str]:
    return [sys.executable, "-m", "crawler"]


def write_registry(path: Path, cits: list[Citation]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for c in cits:
            w.writerow([c.id, "", c.title, c.outlet, c.published, c.url, c.accessed, c.lang, ""])


def _as_reader_only(path: Path) -> list[str]:
    """Make `path` unwritable; the argv prefix that makes it so for us too.

    As root, file modes bind only once the capabilities that override them are
    dropped (setpriv, util-linux), as for any other user.
    """
    for p in [path, *path.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("running as root without setpriv: cannot make a store read-only")
    return [setpriv, "--inh-caps=-all",
            "--bounding-set=-dac_override,-dac_read_search,-fowner,-linux_immutable"]


def read_only_store(tmp: Path, form: Form, new_site: Hosts) -> list[Tally]:
    s = new_site()
    ro = tmp / "ro"
    ro.mkdir()
    try:
        title = "Ceasefire talks resume in Geneva"
        s.route("/p", Response(200, article(title)))
        write_registry(ro / "c.csv", [cite(1, s.url("/p"), title)])
        args = ["--db", str(ro / "c.db")]
        check_args = ["check", str(ro / "c.csv"), *args, "--cache-dir", str(ro / "cache"),
                      "--allow-private", "--delay", "0", "--no-lookup-archives",
                      "--no-progress"]
        env = {**os.environ, "HOME": str(ro), "PYTHONDONTWRITEBYTECODE": "1"}
        first = subprocess.run([*crawler_argv(), *check_args], cwd=ro, capture_output=True,
                               text=True, env=env, timeout=60, check=False)
        if first.returncode != 0:
            t = Tally("read-only store", "set-up run", 1)
            t.notes.append(first.stderr[-200:])
            return [t]
        # fold the WAL into the file so the read-only copy is complete on its own
        conn = sqlite3.connect(ro / "c.db")
        conn.execute("pragma wal_checkpoint(truncate)")
        before = conn.execute("select run_id, citation_id, status from results").fetchall()
        conn.close()
        prefix = _as_reader_only(ro)
        out = []
        for label, argv, want_ok in [
            ("check on a read-only store", check_args, False),
            ("report on a read-only store", ["report", *args, "--format", "json"], True),
            ("history on a read-only store", ["history", "1", *args], True),
        ]:
            t = Tally("read-only store", label, tried=1)
            res = subprocess.run([*prefix, *crawler_argv(), *argv], cwd=ro, capture_output=True,
                                 text=True, env=env, timeout=60, check=False)
            crashed = "Traceback" in res.stderr
            last = (res.stderr.strip().splitlines() or [""])[-1][:110]
            clear = (res.returncode == 0) if want_ok else (res.returncode in (1, 2) and not crashed)
            t.survived = int(clear and not crashed)
            t.notes.append(f"exit {res.returncode}: {last}")
            out.append(t)
        # the file alone read-only, its directory writable (the lock can be taken)
        ro.chmod(0o755)
        for lock in ro.glob("*.lock"):
            lock.chmod(0o644)
        t = Tally("read-only store", "check on a read-only db file", tried=1)
        res = subprocess.run([*prefix, *crawler_argv(), *check_args], cwd=ro,
                             capture_output=True, text=True, env=env, timeout=60, check=False)
        last = (res.stderr.strip().splitlines() or [""])[-1][:110]
        t.survived = int(res.returncode in (1, 2) and "Traceback" not in res.stderr)
        t.notes.append(f"exit {res.returncode}: {last}")
        out.append(t)
        conn = sqlite3.connect(f"file:{ro / 'c.db'}?mode=ro&immutable=1", uri=True)
        after = conn.execute("select run_id, citation_id, status from results").fetchall()
        conn.close()
        if after != before:
            out[0].lost = len(set(before) - set(after))
            out[0].notes.append("stored rows changed")
        return out
    finally:
        s.close()
        for p in [ro, *ro.rglob("*")]:
            with contextlib.suppress(OSError):
                p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(ro, ignore_errors=True)


# -- fuzz sections (hypothesis) ---------------------------------------------------------------

def _run_hypothesis(t: Tally, test: Callable[[], None]) -> None:
    """Run a @given test; a failure is recorded (with hypothesis' smallest example)."""
    try:
        test()
    except Exception as exc:  # noqa: BLE001                        # hypothesis re-raises the shrunk failure
        t.notes.append(f"FAILED: {type(exc).__name__}: {str(exc)[:160]}")
        t.tried += 1                               # the shrunk example that failed
    t.survived = t.tried - sum(1 for n in t.notes if n.startswith("FAILED"))


def _settings(n: int):
    from hypothesis import HealthCheck, settings
    return settings(max_examples=n, deadline=None, database=None, derandomize=False,
                    suppress_health_check=list(HealthCheck), print_blob=True)


def fuzz_pages(form: Form) -> Tally:
    from hypothesis import given
    from hypothesis import strategies as st

    from crawler.extract import parse_page
    from crawler.model import Fetched
    from crawler.verify import judge

    t = Tally("fuzz pages", "random bytes / HTML-ish text / headers -> parse_page + judge")
    fragments = st.sampled_from([
        "<title>", "</title>", "<meta charset=", '<meta property="og:title" content="',
        '<script type="application/ld+json">', "</script>", '{"@type":"NewsArticle",',
        '"datePublished":"', "2025-13-45", "<h1>", "&#xD800;", "&amp", "\x00", "<!--",
        "<html lang=", "<link rel=canonical href=", "<<<>>>", "\ufeff", "]]>", "<body>",
        "ceasefire", "停戦", "<meta http-equiv=refresh content=\"0;url=/\">"])
    html = st.lists(st.one_of(fragments, st.text(max_size=40)), max_size=60).map("".join)
    charsets = st.sampled_from(["utf-8", "x-bogus", "shift_jis", "utf-16", "", "latin-1",
                                "utf-8; q=", "euc-jp", "gb18030", "\x00"])
    bodies = st.one_of(st.binary(max_size=3000),
                       st.tuples(html, charsets).map(
                           lambda hc: hc[0].encode("utf-8", "surrogatepass")))

    @_settings(form.examples)
    @given(bodies, charsets, st.sampled_from([200, 203, 404, 410, 500, 451]),
           st.text(max_size=80))
    def test(body, charset, code, title):
        t.tried += 1
        headers = {"content-type": f"text/html; charset={charset}"}
        page = parse_page(body, headers, "http://127.0.0.1/x")
        fetched = Fetched(url="http://127.0.0.1/x", final_url="http://127.0.0.1/x",
                          status_code=code, headers=headers, body=body)
        v = judge(cite(1, "http://127.0.0.1/x", title), fetched, page)
        assert v.status.value in VOCABULARY
        json.dumps([v.page_title, v.error])     # stored and rendered: must be encodable text

    _run_hypothesis(t, test)
    return t


def fuzz_registry_rows(tmp: Path, form: Form, new_site: Hosts) -> Tally:
    """Random citation fields through a real check against one loopback host."""
    from hypothesis import given
    from hypothesis import strategies as st

    t = Tally("fuzz registry", "random citation fields through check (loopback)")
    s = new_site()
    s.fallback = Response(200, article("Ceasefire talks resume in Geneva"))
    counter = itertools.count()
    text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
    paths = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
    row = st.tuples(text, text, text, text, paths, text, text)

    @_settings(form.registry_examples)
    @given(st.lists(row, min_size=1, max_size=4))
    def test(rows):
        n = next(counter)
        cits = [Citation(id=f"{n}-{i}-{r[0][:10]}", title=r[1], outlet=r[2], published=r[3],
                         url=s.url("/") + r[4], accessed=r[5], lang=r[6][:8], raw=r[0])
                for i, r in enumerate(rows)]
        t.tried += len(cits)
        db = store.open_db(":memory:")
        outcome = check(db, cits, CheckOptions(fetch=fetch_config(tmp, form, cache_dir=None,
                                                                   respect_robots=False)))
        got = dict(db.execute("select citation_id, status from results"))
        missing = [c.id for c in cits if c.id not in got]
        t.lost += len(missing)
        assert outcome.state == "finished" and not missing, (outcome.state, missing)
        assert set(got.values()) <= VOCABULARY

    try:
        _run_hypothesis(t, test)
    finally:
        s.close()
    return t


def fuzz_registry_csv(tmp: Path, form: Form) -> Tally:
    t = Tally("fuzz csv", "random CSV files -> crawler.registry.load_csv")
    try:
        from crawler.registry import load_csv
    except ImportError:
        t.notes.append("skipped: crawler.registry not there yet")
        return t
    from hypothesis import given
    from hypothesis import strategies as st

    header = ",".join(COLUMNS)
    cells = st.one_of(st.text(max_size=30), st.sampled_from(['"', '""', "\n", "\r", ",", "\x00",
                                                              "2025-02-30", "http://", "-1"]))
    rows = st.lists(st.lists(cells, max_size=12).map(
        lambda r: ",".join(r)), max_size=12).map("\n".join)
    files = st.one_of(st.binary(max_size=2000),
                      st.tuples(st.sampled_from([header, "", "\ufeff" + header, "id;title"]),
                                rows).map(lambda hr: (hr[0] + "\n" + hr[1]).encode(
                                    "utf-8", "surrogatepass")))
    path = tmp / "fuzz.csv"

    @_settings(form.examples)
    @given(files)
    def test(data):
        t.tried += 1
        path.write_bytes(data)
        citations, _errors = load_csv(str(path))
        assert all(isinstance(c, Citation) for c in citations)
        assert len({c.id for c in citations}) == len(citations), "duplicate ids kept"

    _run_hypothesis(t, test)
    return t


def fuzz_article(tmp: Path, form: Form) -> Tally:
    t = Tally("fuzz article", "random footnote text -> article parser")
    try:
        from crawler import registry
    except ImportError:
        t.notes.append("skipped: crawler.registry not there yet")
        return t
    parse = getattr(registry, "parse_article", None)
    if parse is None:
        t.notes.append("skipped: crawler.registry.parse_article not found")
        return t
    from hypothesis import given
    from hypothesis import strategies as st

    pieces = st.sampled_from(["[1]", "[^1]: ", "1. ", "注1 ", "※", "http://", "https://x.test/a",
                              "「", "」", "『記事』", "2025年1月9日", "(accessed 2025-12-22)",
                              "\n", "\n\n", "<sup>", "</sup>", "<ol><li>", "Retrieved ",
                              "\x00", "\ufeff", "]]", "[["])
    texts = st.lists(st.one_of(pieces, st.text(max_size=30)), max_size=80).map("".join)
    @_settings(form.examples)
    @given(texts, st.sampled_from(["utf-8", "shift_jis", "utf-16", "latin-1"]))
    def test(text, encoding):
        t.tried += 1
        for given_text in (text, text.encode(encoding, "replace")):
            citations, errors = parse(given_text, "fuzz.txt")
            assert all(isinstance(c, Citation) for c in citations)
            assert all(isinstance(e, RowError) for e in errors)

    _run_hypothesis(t, test)
    return t


# -- section: malformed files through the CLI ----------------------------------------------------

def _malformed_registries(good_url: str) -> list[tuple[str, bytes]]:
    header = ",".join(COLUMNS).encode()
    good = f"1,,Ceasefire talks resume in Geneva,Outlet,2025-01-09,{good_url},2025-12-22,en,".encode()
    return [
        ("empty file", b""),
        ("header only", header + b"\n"),
        ("binary garbage", bytes((i * 131 + 7) % 256 for i in range(4096))),
        ("UTF-16 with BOM", (",".join(COLUMNS) + "\n" + good.decode()).encode("utf-16")),
        ("latin-1 bytes in a UTF-8 file", header + b"\n" + good + b"\n2,,Caf\xe9,O,,"
         + good_url.encode() + b"?b,,en,\n"),
        ("semicolon delimiter", header.replace(b",", b";") + b"\n" + good.replace(b",", b";")),
        ("no url column", b"id,title\n1,Ceasefire\n"),
        ("duplicate ids", header + b"\n" + good + b"\n" + good + b"\n"),
        ("unterminated quote", header + b"\n" + good + b'\n2,"never closed,' + b"x" * 1000),
        ("a 5 MB field", header + b"\n" + good + b"\n3,," + b"T" * 5_000_000 + b",O,,"
         + good_url.encode() + b"?c,,en,\n"),
        ("NUL bytes", header + b"\n" + good + b"\n4,\x00,\x00\x00,O,," + good_url.encode()
         + b"?d,,en,\n"),
        ("10,000 columns", header + b"\n" + b",".join([b"x"] * 10_000) + b"\n" + good),
        ("CRLF and a blank line", (header + b"\r\n\r\n" + good + b"\r\n")),
        ("dates and URLs malformed", header + b"\n5,,T,O,2025-02-30,javascript:alert(1),"
         b"tomorrow,xx,\n6,,T,O,99999-01-01,http://[::1,,en,\n" + good),
    ]


def _malformed_articles() -> list[tuple[str, bytes]]:
    return [
        ("empty article", b""),
        ("binary article", bytes((i * 97 + 3) % 256 for i in range(8192))),
        ("one 5 MB line", b"[1] " + b"word " * 1_000_000),
        ("markers only", b"[1]\n[2]\n[^3]:\n1.\n\xe6\xb3\xa81\n" * 200),
        ("deeply nested HTML", b"<ol>" + b"<li><div>" * 5000 + b"x" + b"</div></li>" * 5000
         + b"</ol>"),
        ("UTF-16 article", "注1 「記事」『新聞』2025年1月9日 https://x.test/a\n".encode("utf-16")),
        ("10,000 footnotes", b"Notes\n" + b"".join(
            b"[%d] Author, \"Title %d\", Outlet, 2025-01-09. http://x.test/%d\n" % (i, i, i)
            for i in range(1, 10_001))),
    ]


def cli_inputs(tmp: Path, form: Form, new_site: Hosts) -> list[Tally]:
    """Malformed registries through `validate` and `check`, malformed articles through `parse`:
    an exit code from the documented set (0-3) and a message, never a traceback."""
    from click.testing import CliRunner

    from crawler.cli import cli
    s = new_site()
    s.fallback = Response(200, article("Ceasefire talks resume in Geneva"))
    runner = CliRunner()
    out: list[Tally] = []

    def invoke(t: Tally, args: list[str]) -> None:
        t.tried += 1
        res = runner.invoke(cli, args, catch_exceptions=True)
        crashed = res.exception is not None and not isinstance(res.exception, SystemExit)
        if crashed or res.exit_code not in (0, 1, 2, 3):
            t.notes.append(f"{args[0]}: exit {res.exit_code} "
                           f"{type(res.exception).__name__ if crashed else ''}: "
                           f"{str(res.exception)[:80] if crashed else ''}")
        else:
            t.survived += 1
            t.notes.append(f"{args[0]} {res.exit_code}")

    try:
        for i, (name, data) in enumerate(_malformed_registries(s.url("/p"))):
            path = tmp / f"reg{i}.csv"
            path.write_bytes(data)
            t = Tally("malformed files", f"registry: {name}")
            invoke(t, ["validate", str(path)])
            invoke(t, ["check", str(path), "--db", str(tmp / f"reg{i}.db"), "--cache-dir",
                       str(tmp / "cache"), "--allow-private", "--delay", "0",
                       "--max-retries", "0", "--no-lookup-archives", "--no-progress",
                       "--format", "json", "-o", str(tmp / f"reg{i}.json")])
            out.append(t)
        t = Tally("malformed files", "registry: a directory, not a file")
        invoke(t, ["validate", str(tmp)])
        out.append(t)
        for i, (name, data) in enumerate(_malformed_articles()):
            path = tmp / f"art{i}.txt"
            path.write_bytes(data)
            t = Tally("malformed files", f"article: {name}")
            invoke(t, ["parse", str(path), "-o", str(tmp / f"art{i}.csv")])
            out.append(t)
    finally:
        s.close()
    return out


# -- running it all ---------------------------------------------------------------------------

def run_all(tmp: Path, form: Form, new_site: Hosts, garbage_host: str,
            only: set[str] | None = None) -> list[Tally]:
    sections: list[tuple[str, Callable[[], list[Tally]]]] = [
        ("hostile", lambda: hostile_web(tmp / "h", form, new_site, garbage_host)),
        ("disk", lambda: full_disk(tmp / "d", form, new_site)),
        ("readonly", lambda: read_only_store(tmp / "r", form, new_site)),
        ("files", lambda: cli_inputs(tmp / "m", form, new_site)),
        ("pages", lambda: [fuzz_pages(form)]),
        ("registry", lambda: [fuzz_registry_rows(tmp / "f", form, new_site)]),
        ("csv", lambda: [fuzz_registry_csv(tmp / "c", form)]),
        ("article", lambda: [fuzz_article(tmp / "a", form)]),
    ]
    out: list[Tally] = []
    for name, run in sections:
        if only and name not in only:
            continue
        for sub in ("h", "d", "r", "f", "c", "a", "m"):
            (tmp / sub).mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        try:
            tallies = run()
        except Exception as exc:  # noqa: BLE001                   # the suite itself must finish too
            tallies = [Tally(name, "section crashed", 1, 0, 0, [f"{type(exc).__name__}: {exc}"])]
        for t in tallies:
            t.notes.append(f"[{time.monotonic() - t0:.1f}s section]") if t is tallies[-1] else None
        out.extend(tallies)
    return out


def table(tallies: list[Tally]) -> str:
    lines = [f"{'section':<16} {'input':<46} {'tried':>6} {'survived':>8} {'lost':>5}  notes",
             "-" * 120]
    for t in tallies:
        lines.append(f"{t.section:<16} {t.input[:46]:<46} {t.tried:>6} {t.survived:>8} "
                     f"{t.lost:>5}  {'; '.join(t.notes)[:160]}")
    tried = sum(t.tried for t in tallies)
    lines += ["-" * 120, f"{'total':<63} {tried:>6} {sum(t.survived for t in tallies):>8} "
              f"{sum(t.lost for t in tallies):>5}  {sum(not t.ok for t in tallies)} input(s) "
              f"not survived (skipped sections count as tried 0)"]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--short", action="store_true", help="the CI form (~100 examples)")
    p.add_argument("--examples", type=int, default=None, help="hypothesis examples per section")
    p.add_argument("--only", default="", help="comma-separated sections: hostile,disk,readonly,"
                                              "files,pages,registry,csv,article")
    args = p.parse_args()
    form = SHORT if args.short else LONG
    if args.examples:
        form = Form(**{**form.__dict__, "examples": args.examples})
    with tempfile.TemporaryDirectory(prefix="reliability-") as d:
        t0 = time.monotonic()
        tallies = run_all(Path(d), form, loopback_hosts(20), "127.0.21.1",
                          set(filter(None, args.only.split(","))) or None)
        print(table(tallies))
        print(f"\n{'short' if args.short else 'long'} form, {time.monotonic() - t0:.0f} s, "
              f"machine: {os.cpu_count()} CPUs")
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "reliability.json").write_text(json.dumps(
        [t.__dict__ for t in tallies], indent=2, ensure_ascii=False))
    sys.exit(0 if all(t.ok or not t.tried for t in tallies) else 1)


if __name__ == "__main__":
    main()
