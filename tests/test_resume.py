"""Crash safety and resumption, through the real CLI in a child process (issue #7).

A `crawler check` runs against a slow loopback web and is killed (SIGKILL) or
stopped (SIGTERM) part-way. What the *server* saw and what the *store* holds
tell whether anything was lost, duplicated or fetched twice:

  * after SIGKILL the store passes `PRAGMA integrity_check`, the run row is
    still unfinished, and `--resume` fetches only the citations it lacks;
  * SIGTERM cancels in-flight requests, keeps what finished, marks the run
    interrupted and exits 130;
  * a reader (`crawler report`, `crawler history`) works while a check runs;
  * a second writer on the same store exits naming the holder.

Waiting is polling with a deadline (a bound, never an assertion on time).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from citing import article as cited_article
from citing import write_registry
from server import Response


def crawler_argv() -> list[str]:
    return [sys.executable, "-m", "crawler"]


def article(title: str) -> bytes:
    return cited_article(title, paragraphs=20)


class Env:
    """One store + cache + registry in tmp_path, and the child processes run against it."""

    def __init__(self, tmp_path: Path, registry: str):
        self.tmp = tmp_path
        self.db = tmp_path / "c.db"
        self.registry = registry

    def argv(self, *extra: str) -> list[str]:
        return [*crawler_argv(), "check", self.registry, "--db", str(self.db), "--cache-dir",
                str(self.tmp / "cache"), "--allow-private", "--delay", "0.01",
                "--max-retries", "0", "--no-lookup-archives", "--no-progress",
                "--format", "json", "-o", str(self.tmp / "out.json"), *extra]

    def start(self, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*extra), cwd=self.tmp, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run(self, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*extra), cwd=self.tmp, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def wait_results(self, proc: subprocess.Popen[str], at_least: int, bound: float = 30) -> int:
        """Poll the store until `at_least` verdicts are committed (bounded by `bound` s)."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            if self.db.exists():
                try:
                    n = self.query("select count(*) from results")[0][0]
                except sqlite3.OperationalError:     # schema not created yet
                    n = 0
                if n >= at_least:
                    return n
            time.sleep(0.05)
        proc.kill()
        raise AssertionError(f"no {at_least} results within {bound}s: {proc.communicate()}")


N_PER_HOST = 8


def _slow_etag(body: bytes, tag: str):
    """0.25 s late, with a validator so the HTTP cache keeps it (304 to a matching request)."""
    def serve(handler):
        if handler.headers.get("If-None-Match") == tag:
            return Response(304, b"", {"ETag": tag}, delay=0.25)
        return Response(200, body, {"ETag": tag}, delay=0.25)
    return serve


@pytest.fixture
def slow_web(web, tmp_path):
    """Two hosts, 8 articles each, every answer 0.25 s late: a run takes ~2 s."""
    sites = [web(), web()]
    rows = []
    for s in sites:
        for i in range(N_PER_HOST):
            title = f"Article {s.host} number {i} about the ceasefire talks"
            s.route(f"/a/{i}", _slow_etag(article(title), f'"{s.host}-{i}"'))
            rows.append((title, s.url(f"/a/{i}")))
    return sites, Env(tmp_path, write_registry(tmp_path / "c.csv", rows))


def page_hits(sites) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in sites:
        for h in s.hits():
            if h.path.startswith("/a/"):
                out[s.url(h.path)] = out.get(s.url(h.path), 0) + 1
    return out


def test_sigkill_then_resume_fetches_only_what_is_missing(slow_web):
    sites, env = slow_web
    total = 2 * N_PER_HOST
    proc = env.start()
    env.wait_results(proc, 4)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    assert env.query("pragma integrity_check") == [("ok",)]
    (run_id, state, finished), = env.query("select id, state, finished_at from runs")
    assert state == "running" and finished is None           # unfinished, not 'finished'
    recorded = dict(env.query("select url, count(*) from results where run_id = ?"
                              " group by url", (run_id,)))
    assert 4 <= len(recorded) < total
    before = page_hits(sites)
    assert all(before.get(u) == 1 for u in recorded)          # each recorded page fetched once
    # The cache after a kill: every entry is complete (verifies) or is discarded on lookup.
    from crawler.cache import Cache
    cache = Cache(env.tmp / "cache" / "http")
    cached = {u for u in before if cache.lookup(u) is not None}
    assert set(recorded) <= cached
    # The dead process' lock is stale: the file still names it, and --resume takes it over.
    assert json.loads((env.tmp / "c.db.lock").read_text())["pid"] == proc.pid

    res = env.run("--resume")
    assert res.returncode == 0, res.stderr
    assert env.query("pragma integrity_check") == [("ok",)]
    assert env.query("select id, state from runs") == [(run_id, "finished")]   # same run
    assert env.query("select count(*), count(distinct citation_id) from results") == [
        (total, total)]                                          # nothing lost, nothing twice
    after = page_hits(sites)
    for url in recorded:
        assert after[url] == before[url], f"resume fetched {url} again"
    assert set(after) == {s.url(f"/a/{i}") for s in sites for i in range(N_PER_HOST)}
    out = json.loads((env.tmp / "out.json").read_text())
    assert len(out["citations"]) == total
    assert {c["status"] for c in out["citations"]} == {"ok"}

    # WARC: the killed run's file was recovered (no .open left) and every record reads back.
    from warcio.archiveiterator import ArchiveIterator
    files = sorted((env.tmp / "cache" / "warc").iterdir())
    assert files and not [f for f in files if f.name.endswith(".open")]
    responses = 0
    for f in files:
        with open(f, "rb") as fh:
            responses += sum(r.rec_type in ("response", "revisit") for r in ArchiveIterator(fh))
    assert responses >= total

    # Without --resume a new run starts and checks everything again, from the cache (304s).
    res = env.run()
    assert res.returncode == 0, res.stderr
    assert [r[0] for r in env.query("select state from runs order by id")] == [
        "finished", "finished"]
    assert env.query("select status, count(*) from results where run_id = ? group by status",
                     (run_id + 1,)) == [("ok", total)]
    revalidated = [h for s in sites for h in s.hits() if h.path.startswith("/a/")
                   and "if-none-match" in h.headers]
    assert len(revalidated) == total


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_exits_130_and_marks_run_interrupted(slow_web, sig):
    _, env = slow_web
    total = 2 * N_PER_HOST
    proc = env.start()
    env.wait_results(proc, 3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err
    assert env.query("pragma integrity_check") == [("ok",)]
    (run_id, state, finished), = env.query("select id, state, finished_at from runs")
    assert state == "interrupted" and finished
    kept = env.query("select count(*) from results")[0][0]
    assert 3 <= kept < total
    res = env.run("--resume")
    assert res.returncode == 0, res.stderr
    assert env.query("select id, state from runs") == [(run_id, "finished")]
    assert env.query("select count(*), count(distinct citation_id) from results") == [
        (total, total)]


def test_sigterm_cancels_a_request_in_flight(web, tmp_path):
    """A host that never answers does not hold a stopping check for its timeouts."""
    site = web()
    site.hang("/hang", seconds=30)
    site.route("/ok", Response(200, article("Quick answer about the ceasefire")))
    env = Env(tmp_path, write_registry(tmp_path / "c.csv", [
        ("Quick answer about the ceasefire", site.url("/ok")), ("Never", site.url("/hang"))]))
    proc = env.start("--read-timeout", "60", "--total-timeout", "120")
    env.wait_results(proc, 1)
    deadline = time.monotonic() + 10
    while not site.hits("/hang") and time.monotonic() < deadline:   # the hang is in flight
        time.sleep(0.05)
    assert site.hits("/hang")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)       # would take 60 s if the request were awaited
    assert proc.returncode == 130, err
    assert env.query("select state from runs") == [("interrupted",)]
    assert env.query("select citation_id, status from results") == [("1", "ok")]


def test_readers_work_while_a_check_runs_and_second_writer_is_refused(web, tmp_path):
    site = web()
    release = threading.Event()

    def held(handler):                 # answers only once the test has looked
        release.wait(30)
        return Response(200, article("Held article about the ceasefire talks"))
    site.route("/held", held)
    rows = [("Held article about the ceasefire talks", site.url("/held"))]
    for i in range(4):
        title = f"Article number {i} about the ceasefire talks"
        rows.append((title, site.route(f"/a/{i}", Response(200, article(title)))))
    env = Env(tmp_path, write_registry(tmp_path / "c.csv", rows))
    proc = env.start("--concurrency", "2", "--per-host", "2")
    try:
        env.wait_results(proc, 2)
        rep = subprocess.run([*crawler_argv(), "report", "--db", str(env.db), "--format",
                              "json"], cwd=env.tmp, capture_output=True, text=True, timeout=30, check=False)
        assert rep.returncode == 0, rep.stderr
        data = json.loads(rep.stdout)
        assert 2 <= len(data["citations"]) <= len(rows) - 1      # /held is still out
        hist = subprocess.run([*crawler_argv(), "history", "1", "--db", str(env.db)],
                              cwd=env.tmp, capture_output=True, text=True, timeout=30, check=False)
        assert hist.returncode == 0, hist.stderr
        second = env.run("--lock-wait", "0.2")
        assert second.returncode == 2           # busy store: exit 2 (be56c13), holder named
        assert f"pid {proc.pid}" in second.stderr and "--lock-wait" in second.stderr
    finally:
        release.set()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert env.query("select state from runs") == [("finished",)]
