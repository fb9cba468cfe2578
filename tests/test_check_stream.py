"""The registry streams through a check: read once, never held, counted for the progress bar.

A 100,000-row registry held as Citation objects is ~70 MB; these tests pin the behaviour
that lets `crawler check` avoid that: run_check consumes a one-shot iterator, reports how
much is left to check once it has read it, and an unusable registry starts no run.
"""

from __future__ import annotations

import csv

from click.testing import CliRunner
from server import Response, html_page

from crawler import store
from crawler.check import CheckOptions, EmptyRegistry, check
from crawler.cli import cli
from crawler.fetch import FetchConfig
from crawler.model import Citation, RowError
from crawler.registry import COLUMNS, iter_citations, load_csv


def opts(tmp_path, **kw) -> CheckOptions:
    return CheckOptions(fetch=FetchConfig(delay=0.0, max_retries=0, allow_private=True,
                                          cache_dir=tmp_path / "cache"), **kw)


def cite(i: int, url: str) -> Citation:
    return Citation(id=str(i), title=f"Story {i}", outlet="Outlet", published="2025-01-09",
                    url=url, accessed="2025-12-22", lang="en")


def one_shot(items):
    """A generator: a second pass over it would see nothing."""
    yield from items


def test_check_consumes_a_one_shot_iterator_and_reports_what_is_left(tmp_path, web):
    a, b = web(), web()
    for site in (a, b):
        site.route("/", Response(200, html_page("Home", "<h1>Home</h1>")))
        for i in range(1, 5):
            site.route(f"/s/{i}", Response(200, html_page(f"Story {i}", f"<h1>Story {i}</h1>")))
    cits = [cite(i, a.url(f"/s/{i}")) for i in range(1, 5)]
    cits += [cite(4 + i, b.url(f"/s/{i}")) for i in range(1, 4)]
    cits.append(cite(8, a.url("/s/1")))                # a URL cited twice: fetched once
    db = store.open_db(tmp_path / "c.db")
    begun, seen = [], []
    out = check(db, one_shot(cits), opts(tmp_path),
                on_begin=lambda n, urls: begun.append((n, urls)),
                progress=lambda c, v: seen.append(c.id))
    assert begun == [(8, 7)]
    assert out.urls == 7 and out.checked == 8
    assert sorted(seen, key=int) == [str(i) for i in range(1, 9)]
    assert store.done_ids(db, out.run_id) == {str(i) for i in range(1, 9)}
    assert store.get_citation(db, "8") == cits[-1]     # the registry went to the store


def test_a_resumed_run_counts_only_what_it_lacks(tmp_path, web):
    a = web()
    a.route("/", Response(200, html_page("Home", "<h1>Home</h1>")))
    for i in range(1, 4):
        a.route(f"/s/{i}", Response(200, html_page(f"Story {i}", f"<h1>Story {i}</h1>")))
    cits = [cite(i, a.url(f"/s/{i}")) for i in range(1, 4)]
    db = store.open_db(tmp_path / "c.db")
    first = check(db, cits, opts(tmp_path))
    with db.conn:                                       # pretend the run died after one verdict
        db.conn.execute("delete from results where run_id = ? and citation_id != '1'",
                        [first.run_id])
        db.conn.execute("update runs set state = 'interrupted' where id = ?", [first.run_id])
    begun = []
    again = check(db, one_shot(cits), opts(tmp_path, resume=True),
                  on_begin=lambda n, urls: begun.append((n, urls)))
    assert again.run_id == first.run_id and again.skipped == 1
    assert begun == [(2, 2)]
    assert store.done_ids(db, first.run_id) == {"1", "2", "3"}


def test_an_empty_registry_starts_no_run(tmp_path):
    db = store.open_db(tmp_path / "c.db")
    try:
        check(db, one_shot([]), opts(tmp_path))
    except EmptyRegistry as exc:
        assert "no usable citation rows" in str(exc)
    else:
        raise AssertionError("an empty registry must raise EmptyRegistry")
    assert store.latest_run(db) is None


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(rows)
    return path


def test_cli_registry_with_no_usable_row_exits_2_before_touching_the_store(tmp_path):
    reg = write(tmp_path / "c.csv", [["", "", "T", "O", "2025-01-09", "https://e.com/",
                                       "2025-12-22", "en", ""],
                                      ["", "", "T", "O", "2025-01-09", "", "", "en", ""]])
    res = CliRunner().invoke(cli, ["check", str(reg), "--db", str(tmp_path / "c.db"),
                                   "--cache-dir", str(tmp_path / "cache"), "--no-progress",
                                   "--no-lookup-archives"])
    assert res.exit_code == 2, res.output
    assert "no usable citation rows" in res.stderr
    assert f"{reg}:3" in res.stderr                    # the bad row is named by its line
    assert not (tmp_path / "c.db").exists()          # refused before the store is touched


def test_iter_citations_streams_what_load_csv_returns(tmp_path):
    rows = [[str(i), "", f"T{i}", "O", "2025-01-09", f"https://e.com/{i}", "2025-12-22", "en", ""]
            for i in (1, 2, 1, 3)]                     # id 1 repeated on line 4
    reg = write(tmp_path / "c.csv", rows)
    items = list(iter_citations(reg))
    assert [type(x).__name__ for x in items] == ["Citation", "Citation", "RowError", "Citation"]
    dup = items[2]
    assert isinstance(dup, RowError) and dup.line == 4 and "first on line 2" in dup.message
    assert items[0].title == "T1"                      # the first row of an id wins
    good, bad = load_csv(reg)
    assert good == [x for x in items if isinstance(x, Citation)]
    assert bad == [dup]
