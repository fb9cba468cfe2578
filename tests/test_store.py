"""The store: schema, history queries, summaries, and what inconclusive runs mean."""

import sqlite3

import pytest

from crawler import store
from crawler.model import Attempt, Citation, Health, Hop, Status, Verdict


@pytest.fixture
def db(tmp_path):
    return store.open_db(tmp_path / "crawler.db")


def cite(i, url="https://example.org/a"):
    return Citation(id=str(i), authors=("A", "B"), title=f"T{i}", outlet="O", url=url)


def verdict(i, status, url="https://example.org/a", at="2026-01-01T00:00:00+00:00"):
    return Verdict(id=str(i), url=url, status=status, redirects=(Hop(url, 301),), checked_at=at)


def test_open_creates_wal_schema(tmp_path):
    path = tmp_path / "sub" / "c.db"
    store.open_db(path)
    conn = sqlite3.connect(path)
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert {"citations", "runs", "results", "attempts"} <= tables


def test_citations_upsert_by_id_and_round_trip(db):
    store.upsert_citations(db, [cite(1), cite(2)])
    store.upsert_citations(db, [Citation(id="1", title="changed", url="https://x.org/")])
    assert db["citations"].count == 2
    assert store.get_citation(db, "1").title == "changed"
    assert store.get_citation(db, "2").authors == ("A", "B")


def test_results_committed_per_verdict_and_readable_elsewhere(db, tmp_path):
    run = store.start_run(db, "citations.csv")
    store.record_result(db, run, verdict(1, Status.NOT_FOUND))
    other = sqlite3.connect(tmp_path / "crawler.db")   # a second reader sees it before the run ends
    assert other.execute("select status from results").fetchall() == [("not_found",)]
    assert store.done_ids(db, run) == {"1"}


def test_status_history_skips_inconclusive_runs(db):
    store.upsert_citations(db, [cite(1)])
    for state, status in [("finished", Status.OK), ("inconclusive", Status.DNS_ERROR),
                          ("finished", Status.NOT_FOUND)]:
        run = store.start_run(db)
        store.record_result(db, run, verdict(1, status))
        store.finish_run(db, run, state)
    assert [s for _, s in store.status_history(db, "1")] == [Status.OK, Status.NOT_FOUND]
    assert [s for _, s in store.status_history(db, "1", before_run=3)] == [Status.OK]


def test_changes_newly_failing_and_recovered(db):
    store.upsert_citations(db, [cite(1), cite(2), cite(3)])
    r1 = store.start_run(db)
    for i, s in [(1, Status.OK), (2, Status.GONE), (3, Status.OK)]:
        store.record_result(db, r1, verdict(i, s))
    store.finish_run(db, r1)
    r2 = store.start_run(db)
    for i, s in [(1, Status.NOT_FOUND), (2, Status.OK), (3, Status.BLOCKED)]:
        store.record_result(db, r2, verdict(i, s))
    store.finish_run(db, r2)
    newly, recovered = store.changes(db, r2)
    assert newly == ("1",)          # blocked is inconclusive: not newly failing
    assert recovered == ("2",)


def test_summary_joins_registry_and_history(db):
    store.upsert_citations(db, [cite(1), cite(10)])
    for _ in range(2):
        run = store.start_run(db)
        store.record_result(db, run, verdict(10, Status.OK))
        store.record_result(db, run, verdict(1, Status.SOFT_404))
        store.finish_run(db, run)
    s = store.build_summary(db)
    assert [r.citation.id for r in s.rows] == ["1", "10"]   # numeric order, not text order
    assert s.rows[0].citation.title == "T1"
    assert s.rows[0].verdict.redirects == (Hop("https://example.org/a", 301),)
    assert s.run.counts == {"ok": 1, "soft_404": 1}
    assert len(s.history) == 2


def test_baseline_fingerprint_is_first_seen(db):
    for fp in ["aaa", "bbb"]:
        run = store.start_run(db)
        v = Verdict(id="1", url="https://e.org/", status=Status.OK, fingerprint=fp,
                    checked_at=f"2026-01-0{run}T00:00:00+00:00", health=Health.OK)
        store.record_result(db, run, v)
    assert store.baseline_fingerprint(db, "https://e.org/") == ("aaa", "2026-01-01T00:00:00+00:00")


def test_attempts_recorded(db):
    run = store.start_run(db)
    store.record_attempt(db, run, Attempt(url="https://e.org/", attempt=2, started_at="t",
                                          status_code=503, outcome=None, hops=(Hop("x", 302),)))
    row = next(db.query("select * from attempts"))
    assert (row["attempt"], row["status_code"], row["hops"]) == (2, 503, '[["x", 302]]')


def test_changes_compare_each_citation_with_its_own_previous_result(db):
    """A partial run in between (e.g. --changed-only) must not make old failures look new."""
    store.upsert_citations(db, [cite(1), cite(2)])
    r1 = store.start_run(db)
    store.record_result(db, r1, verdict(1, Status.GONE))
    store.record_result(db, r1, verdict(2, Status.OK))
    store.finish_run(db, r1)
    r2 = store.start_run(db)                       # partial: only citation 2
    store.record_result(db, r2, verdict(2, Status.OK))
    store.finish_run(db, r2)
    r3 = store.start_run(db)
    store.record_result(db, r3, verdict(1, Status.GONE))
    store.record_result(db, r3, verdict(2, Status.NOT_FOUND))
    store.finish_run(db, r3)
    assert store.changes(db, r3) == (("2",), ())


def test_stale_running_runs_are_closed_but_the_resumable_one_kept(db):
    dead = store.start_run(db)
    keep = store.start_run(db)
    assert store.close_stale_runs(db, keep=keep) == 1
    assert store.get_run(db, dead).state == "interrupted"
    assert store.get_run(db, keep).state == "running"


def test_invalid_url_counts_as_bad_and_too_large_as_could_not_check():
    assert Status.INVALID_URL.is_dead_candidate and not Status.INVALID_URL.is_inconclusive
    assert Status.TOO_LARGE.is_inconclusive and not Status.TOO_LARGE.is_dead_candidate
