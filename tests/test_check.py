"""End to end: `crawler check` against a loopback fixture web, through the CLI.

These assert what a user sees: exit codes, stored rows, machine output, the
policy across runs, and that an unreachable network is called inconclusive.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys

import pytest
from citing import article, write_registry
from click.testing import CliRunner
from server import Response, html_page

from crawler.cli import cli


def run(tmp_path, registry, *args):
    runner = CliRunner()
    return runner.invoke(cli, ["check", registry, "--db", str(tmp_path / "c.db"),
                               "--cache-dir", str(tmp_path / "cache"), "--allow-private",
                               "--delay", "0.01", "--max-retries", "0", "--no-lookup-archives",
                               "--no-progress", *args])


def results(tmp_path, run_id=None):
    conn = sqlite3.connect(tmp_path / "c.db")
    run_id = run_id or conn.execute("select max(id) from runs").fetchone()[0]
    return dict(conn.execute("select citation_id, status from results where run_id = ?", [run_id]))


@pytest.fixture
def fixture_web(web):
    a, b = web(), web()
    a.route("/news/1", Response(200, article("Trump says talks are close")))
    a.route("/news/2", Response(200, article("Ceasefire plan unveiled")))
    a.route("/", Response(200, html_page("Outlet home", "<h1>Home</h1>")))
    a.status("/news/gone", 410)
    b.route("/x/moved", Response(301, b"", {"Location": a.url("/news/2")}))
    b.status("/x/missing", 404)
    return a, b


def test_check_json_statuses_per_citation(tmp_path, fixture_web):
    a, b = fixture_web
    reg = write_registry(tmp_path / "c.csv", [
        ("Trump says talks are close", a.url("/news/1")),
        ("Ceasefire plan unveiled", b.url("/x/moved")),
        ("Something", a.url("/news/gone")),
        ("Missing", b.url("/x/missing")),
        ("Trump says talks are close", a.url("/news/1")),       # same URL twice: one fetch
    ])
    res = run(tmp_path, reg, "--format", "json")
    assert res.exit_code == 0, res.output            # one bad night is only a warning
    data = json.loads(res.stdout)
    by_id = {c["id"]: c for c in data["citations"]}
    assert by_id["1"]["status"] == "ok" and by_id["1"]["title_match"] is True
    assert by_id["2"]["status"] == "redirected"
    assert by_id["2"]["final_url"] == a.url("/news/2")
    assert by_id["3"]["status"] == "gone"
    assert by_id["4"]["status"] == "not_found"
    assert by_id["5"]["status"] == "ok"
    assert len(a.hits("/news/1")) == 1                 # fetched once for two citations
    assert results(tmp_path) == {"1": "ok", "2": "redirected", "3": "gone", "4": "not_found",
                                 "5": "ok"}


def test_fail_on_new_across_two_runs(tmp_path, fixture_web):
    a, _ = fixture_web
    reg = write_registry(tmp_path / "c.csv", [
        ("Trump says talks are close", a.url("/news/1")),
        ("Ceasefire plan unveiled", a.url("/news/2")),
    ])
    first = run(tmp_path, reg, "--fail-on", "not_found,new")
    assert first.exit_code == 0, first.output
    a.status("/news/2", 404)                           # the page dies between runs
    second = run(tmp_path, reg, "--fail-on", "not_found,new", "--refresh")
    assert second.exit_code == 1, second.output
    assert results(tmp_path) == {"1": "ok", "2": "not_found"}
    third = run(tmp_path, reg, "--fail-on", "not_found,new", "--refresh")
    assert third.exit_code == 0, third.output          # not new any more


def test_title_changed_fails_by_default(tmp_path, web):
    a = web()
    a.route("/p", Response(200, article("A completely different story about sport")))
    reg = write_registry(tmp_path / "c.csv", [("Ceasefire plan unveiled in Geneva", a.url("/p"))])
    res = run(tmp_path, reg)
    assert res.exit_code == 1, res.output
    assert "#1" in res.output or " 1 " in res.output


def _closed_port(host):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_network_down_is_inconclusive_exit_3(tmp_path):
    urls = [(f"T{i}", f"http://127.0.0.{i}:{_closed_port(f'127.0.0.{i}')}/a") for i in (5, 6, 7)]
    reg = write_registry(tmp_path / "c.csv", urls)
    res = run(tmp_path, reg)
    assert res.exit_code == 3, res.output
    assert "inconclusive" in res.stderr
    conn = sqlite3.connect(tmp_path / "c.db")
    assert conn.execute("select state from runs").fetchall() == [("inconclusive",)]
    # and it did not count towards health: the next report has no conclusive run
    rep = CliRunner().invoke(cli, ["report", "--db", str(tmp_path / "c.db"), "--format", "json"])
    assert rep.exit_code == 2


def test_changed_only_checks_new_rows(tmp_path, fixture_web):
    a, _ = fixture_web
    base = write_registry(tmp_path / "base.csv", [("Trump says talks are close", a.url("/news/1"))])
    head = write_registry(tmp_path / "head.csv", [("Trump says talks are close", a.url("/news/1")),
                                                  ("Ceasefire plan unveiled", a.url("/news/2"))])
    res = run(tmp_path, head, "--changed-only", base, "--format", "json")
    assert res.exit_code == 0, res.output
    assert [c["id"] for c in json.loads(res.stdout)["citations"]] == ["2"]
    assert a.hits("/news/1") == []


def test_report_history_and_snapshot_after_a_run(tmp_path, fixture_web):
    a, _ = fixture_web
    reg = write_registry(tmp_path / "c.csv", [("Trump says talks are close", a.url("/news/1"))])
    assert run(tmp_path, reg).exit_code == 0
    db = str(tmp_path / "c.db")
    runner = CliRunner()
    html = runner.invoke(cli, ["report", "--db", db, "--format", "html"])
    assert html.exit_code == 0 and "Trump says talks are close" in html.output
    hist = runner.invoke(cli, ["history", "1", "--db", db])
    assert hist.exit_code == 0 and "ok" in hist.output
    snap = runner.invoke(cli, ["snapshot", a.url("/news/1"), "--db", db])
    assert snap.exit_code == 0 and "Trump says talks are close" in snap.output
    missing = runner.invoke(cli, ["history", "99", "--db", db])
    assert missing.exit_code == 2


def test_missing_registry_is_usage_error(tmp_path):
    res = CliRunner().invoke(cli, ["check", str(tmp_path / "nope.csv"), "--db",
                                   str(tmp_path / "c.db")])
    assert res.exit_code == 2
    assert "nope.csv" in res.output


def test_second_check_on_locked_store_exits_with_holder(tmp_path, fixture_web):
    from crawler.lock import WriterLock
    a, _ = fixture_web
    reg = write_registry(tmp_path / "c.csv", [("T", a.url("/news/1"))])
    with WriterLock(tmp_path / "c.db"):
        res = run(tmp_path, reg)
    assert res.exit_code == 2                   # not a verdict on citations: the store is busy
    assert "locked" in res.output and str(os.getpid()) in res.output


def test_soft_404_host_and_bot_wall_and_robots(tmp_path, web):
    catch_all, wall, robots = web(), web(), web()
    # a host that answers 200 with the same generic page for any path, even ones that can't exist
    catch_all.fallback = Response(200, html_page("Example News", "<h1>Latest stories</h1>"
                                                 + "<p>Top headlines of the day. </p>" * 20))
    wall.route("/a", Response(200, html_page("Just a moment...",
                                             "<script>window._cf_chl_opt={}</script>")))
    robots.robots("User-agent: *\nDisallow: /private/\n")
    robots.page("/private/doc", title="Secret")
    reg = write_registry(tmp_path / "c.csv", [
        ("Ceasefire plan unveiled in Geneva", catch_all.url("/2025/01/ceasefire-plan")),
        ("Talks resume", wall.url("/a")),
        ("Secret", robots.url("/private/doc")),
    ])
    res = run(tmp_path, reg, "--format", "json")
    assert res.exit_code == 0, res.output
    by_id = {c["id"]: c["status"] for c in json.loads(res.stdout)["citations"]}
    assert by_id == {"1": "soft_404", "2": "blocked", "3": "robots_disallowed"}
    assert robots.hits("/private/doc") == []             # robots.txt was obeyed
    probes = [h.path for h in catch_all.hits() if h.path not in ("/robots.txt",
                                                                 "/2025/01/ceasefire-plan")]
    assert len(probes) <= 2                               # one random-path probe (+ home) per host


def test_only_refused_urls_is_not_called_offline(tmp_path):
    reg = write_registry(tmp_path / "c.csv", [("T", "ftp://example.org/a"),
                                              ("U", "http://exa mple.org/")])
    res = run(tmp_path, reg, "--format", "json", "--fail-on", "invalid_url")
    assert res.exit_code == 1, res.output           # judged (invalid), not inconclusive (3)
    assert {c["status"] for c in json.loads(res.stdout)["citations"]} == {"invalid_url"}


def test_rejected_rows_are_reported_the_rest_checked_and_exit_2(tmp_path, fixture_web):
    a, _ = fixture_web
    reg = write_registry(tmp_path / "c.csv", [("Trump says talks are close", a.url("/news/1"))])
    with open(reg, "a", encoding="utf-8") as fh:
        fh.write("1,,Duplicate id,O,2025-01-09,https://example.org/,2025-12-22,en,\n")
        fh.write("3,too,few,columns\n")
    res = run(tmp_path, reg, "--format", "json")
    assert res.exit_code == 2, res.output
    assert "rejected" in res.stderr and ":3" in res.stderr
    assert results(tmp_path) == {"1": "ok"}             # the good row was still checked


def test_unwritable_output_fails_before_any_request(tmp_path, fixture_web):
    a, _ = fixture_web
    reg = write_registry(tmp_path / "c.csv", [("T", a.url("/news/1"))])
    res = run(tmp_path, reg, "-o", str(tmp_path / "no" / "such" / "dir" / "out.json"))
    assert res.exit_code == 2
    assert a.hits() == []


def test_changed_only_with_nothing_changed_starts_no_run(tmp_path, fixture_web):
    a, _ = fixture_web
    reg = write_registry(tmp_path / "c.csv", [("T", a.url("/news/1"))])
    res = run(tmp_path, reg, "--changed-only", reg)
    assert res.exit_code == 0
    assert not (tmp_path / "c.db").exists() or results(tmp_path) == {}
    assert a.hits() == []


def test_a_store_that_is_not_sqlite_is_a_clear_error(tmp_path):
    bad = tmp_path / "c.db"
    bad.write_bytes(b"this is not a database" * 100)
    out = subprocess.run([sys.executable, "-m", "crawler", "report", "--db", str(bad)],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "not a usable crawler database" in out.stderr


def test_report_after_only_offline_runs_says_so(tmp_path):
    port = _closed_port("127.0.0.8")
    reg = write_registry(tmp_path / "c.csv", [("T", f"http://127.0.0.8:{port}/a")])
    assert run(tmp_path, reg).exit_code == 3
    rep = CliRunner().invoke(cli, ["report", "--db", str(tmp_path / "c.db")])
    assert rep.exit_code == 2 and "inconclusive" in rep.output
