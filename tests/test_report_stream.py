"""Reports streamed from the store (issue #7: memory at the end of a 100,000-citation run).

`Summary.rows` from the store is `StoredRows` (read afresh on each walk), every format is written
piece by piece (`report.write`), and the output is byte for byte what rendering the whole
document at once gives.
"""

from __future__ import annotations

import csv
import dataclasses
import gc
import io
import json
import sqlite3
import xml.etree.ElementTree as ET
from collections import Counter

import click
import pytest
from click.testing import CliRunner
from markupsafe import Markup

from crawler import (
    console,
    main_job,
    memento,
    report,
    report_json,
    report_junit,
    report_output,
    report_records,
    report_templates,
    store,
)
from crawler.chart import GROUPS, group_members, trend_svg
from crawler.cli import cli
from crawler.model import Citation, DateVerdict, Health, Hop, Row, Status, Summary, Verdict
from crawler.policy import evaluate, hints, parse_fail_on
from test_report import HOSTILE, hostile_summary, make_row, make_summary, validate

POLICIES = ["dead,title_changed,invalid_url", "not_found,blocked,dead", "new", "none"]
STATUSES = [Status.OK, Status.REDIRECTED, Status.NOT_FOUND, Status.GONE, Status.BLOCKED,
            Status.TIMEOUT, Status.OK, Status.ROBOTS_DISALLOWED, Status.INVALID_URL, Status.OK]


def seed(db, n: int, *, runs: int = 2, archives: bool = True) -> int:
    """`runs` finished runs of `n` citations of every kind; returns the last run's id."""
    store.upsert_citations(db, (Citation(str(k), authors=("A", "B"), title=f"Title {k}",
                                         outlet=f"Outlet {k % 3}", published="2025-01-02",
                                         url=f"https://h{k % 7}.example/a/{k}",
                                         accessed="2025-02-03", lang="en")
                                for k in range(1, n + 1)))
    run = 0
    for r in range(runs):
        run = store.start_run(db, "citations.csv")
        for k in range(1, n + 1):
            status = STATUSES[(k + r) % len(STATUSES)]
            url = f"https://h{k % 7}.example/a/{k}"
            store.record_result(db, run, Verdict(
                str(k), url, status, final_url=f"https://new.example/{k}" if status ==
                Status.REDIRECTED else url, http_status=429 if k % 11 == 0 else 200,
                redirects=(Hop(url, 301),) if status == Status.REDIRECTED else (),
                page_title=HOSTILE if k % 5 == 0 else f"Title {k}",
                title_score=20.0 if k % 5 == 0 else 97.0,
                title_match=False if k % 5 == 0 else True,
                date_verdict=DateVerdict.MODIFIED_AFTER_ACCESS if k % 4 == 0 else DateVerdict.OK,
                health=Health.DEAD if k % 9 == 0 else Health.OK, attempts=1, elapsed_ms=k,
                error="boom & <b>" if k % 6 == 0 else "",
                checked_at=f"2026-01-0{r + 1}T00:00:00+00:00"),
                failing_since="2025-12-01T00:00:00+00:00" if k % 9 == 0 else "")
        store.finish_run(db, run)
    if archives:
        memento.ensure_tables(db)
        with db.conn:
            for k in range(1, n + 1, 3):
                for accessed, date in (("2025-01-01", "2024-06-01"), ("2025-02-03", "2025-06-01")):
                    db.conn.execute(
                        "insert into archives (url, accessed, kind, archive_url, archive_date,"
                        " archive_status, status, error, looked_up_at) values (?,?,?,?,?,?,?,?,?)",
                        [f"https://h{k % 7}.example/a/{k}", accessed, "cdx",
                         f"https://web.archive.org/web/{date}/{k}", date, 200, "found", "",
                         "2026-01-01T00:00:00+00:00"])
    return run


@pytest.fixture
def db(tmp_path):
    return store.open_db(tmp_path / "crawler.db")


@pytest.fixture
def stored(db) -> Summary:
    seed(db, 40)
    summary = store.build_summary(db)
    assert summary is not None and isinstance(summary.rows, store.StoredRows)
    return summary


def materialised(summary: Summary) -> Summary:
    return dataclasses.replace(summary, rows=tuple(summary.rows))


class Walks:
    """Rows that count how often they are walked."""

    def __init__(self, rows):
        self.rows, self.walks = tuple(rows), 0

    def __iter__(self):
        self.walks += 1
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)


# --- what the formats were before streaming: the whole document at once -------------------

def whole_json(summary: Summary, fail_on) -> str:
    result = evaluate(summary, fail_on)
    doc = {"schema_version": report_json.SCHEMA_VERSION,
           "run": report_records.run_record(summary, result, fail_on),
           "history": [{"id": r.id, "started_at": r.started_at, "state": r.state,
                        "counts": dict(r.counts)} for r in report_records.all_runs(summary)],
           "hints": hints(summary),
           "citations": [report_records.citation_record(row, result) for row in summary.rows]}
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def whole_junit(summary: Summary, fail_on) -> str:
    result = evaluate(summary, fail_on)
    run = report_records.run_record(summary, result, fail_on)
    n = str(len(tuple(summary.rows)))
    suites = ET.Element("testsuites", name="crawler", tests=n,
                        failures=str(len(result.failures)), errors="0")
    suite = ET.SubElement(suites, "testsuite", {
        "name": "citations", "tests": n, "failures": str(len(result.failures)), "errors": "0",
        "skipped": str(len(result.inconclusive)), "time": str(run["duration_s"] or 0),
        "timestamp": report_junit._x(summary.run.started_at)})
    props = ET.SubElement(suite, "properties")
    for name in ("id", "state"):
        ET.SubElement(props, "property", name=f"run.{name}", value=report_junit._x(run[name]))
    ET.SubElement(props, "property", name="fail_on", value=str(fail_on))
    for row in summary.rows:
        suite.append(report_junit._testcase(row, result))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def whole_template(name: str, summary: Summary, fail_on) -> str:
    result = evaluate(summary, fail_on)
    template = report_templates._environment(name.endswith(".html.j2")).get_template(name)
    order = {"fail": 0, "warn": 1, "skip": 2, "ok": 3}
    records = [report_records.citation_record(row, result) for row in summary.rows]
    return template.render(
        run=report_records.run_record(summary, result, fail_on), records=records,
        problems=sorted((r for r in records if r["outcome"] != "ok"),
                        key=lambda r: order[r["outcome"]]),
        hints=hints(summary), md_max_rows=report_templates.MD_MAX_ROWS,
        chart=Markup(trend_svg(report_records.all_runs(summary))),
        groups={key: (label, group_members(key)) for key, label, _ in GROUPS})


WHOLE = {"json": whole_json, "junit": whole_junit,
         "html": lambda s, f: whole_template("report.html.j2", s, f),
         "md": lambda s, f: whole_template("report.md.j2", s, f)}


def summaries(stored_summary: Summary) -> dict[str, Summary]:
    return {"fixture": make_summary(), "hostile": hostile_summary(), "empty": make_summary([]),
            "changes": make_summary(newly_failing=("3", "4"), recovered=("1",),
                                    hints=("from the pipeline",)),
            "store": stored_summary}


# --- byte for byte ------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "junit", "html", "md"])
def test_streamed_output_equals_the_whole_document(fmt, stored):
    for name, summary in summaries(stored).items():
        for policy in POLICIES:
            fail_on = parse_fail_on(policy)
            assert report.render(summary, fmt, fail_on) == WHOLE[fmt](summary, fail_on), \
                (name, policy)


@pytest.mark.parametrize("fmt", report.FORMATS)
def test_store_rows_render_like_a_tuple_of_rows(fmt, stored):
    for policy in POLICIES:
        fail_on = parse_fail_on(policy)
        assert report.render(stored, fmt, fail_on) == report.render(materialised(stored), fmt,
                                                                    fail_on)


@pytest.mark.parametrize("fmt", report.FORMATS)
def test_write_to_a_file_equals_render(fmt, stored, tmp_path):
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / f"out.{fmt}"
    with report_output.output_file(path) as fh:
        digest = report.write(stored, fmt, report.DEFAULT, fh)
    assert path.read_text(encoding="utf-8") == report.render(stored, fmt)
    assert digest.citations == 40 and digest.result == evaluate(stored)
    assert [p.name for p in path.parent.iterdir()] == [path.name]   # no temporary file left


def test_markdown_cap_still_applies_to_stored_rows(stored, monkeypatch):
    monkeypatch.setattr("crawler.report_templates.MD_MAX_ROWS", 7)
    md = report.render(stored, "md")
    assert "33 more citations are in the HTML report" in md
    assert md == whole_template("report.md.j2", materialised(stored), report.DEFAULT)


def test_streamed_json_is_valid_against_the_schema(stored):
    text = report.render(stored, "json", parse_fail_on("not_found,dead"))
    doc = json.loads(text)
    validate(doc, report_json.report_schema())
    import jsonschema
    jsonschema.validate(doc, report_json.report_schema())
    rows = tuple(stored.rows)
    assert [c["id"] for c in doc["citations"]] == [r.citation.id for r in rows]
    assert doc["run"]["citations"] == len(rows) == 40
    assert doc["run"]["status_counts"] == dict(Counter(r.verdict.status.value for r in rows))
    assert "<" not in text and ">" not in text and "&" not in text
    empty = json.loads(report.render(make_summary([]), "json"))
    assert empty["citations"] == [] and empty["run"]["citations"] == 0


def test_streamed_junit_and_csv_parse(stored):
    suites = ET.fromstring(report.render(stored, "junit").encode("utf-8"))
    assert len(suites.findall("./testsuite/testcase")) == 40
    assert suites.get("tests") == "40"
    rows = list(csv.DictReader(io.StringIO(report.render(stored, "csv"))))
    assert [r["id"] for r in rows] == [str(k) for k in range(1, 41)]


# --- walks: one for the digest, one more for the output --------------------------------------

def test_policy_counts_and_hints_take_one_walk():
    rows = Walks(make_summary().rows)
    summary = dataclasses.replace(make_summary(hints=("from the pipeline",)), rows=rows)
    digest = report_records.make_digest(summary, report.DEFAULT)
    assert rows.walks == 1
    assert digest.result == evaluate(summary) and digest.hints == hints(summary)
    assert digest.citations == 6 and digest.status_counts == {
        "ok": 2, "redirected": 1, "not_found": 1, "gone": 1, "blocked": 1}
    rows.walks = 0
    hints(summary)
    evaluate(summary)
    assert rows.walks == 2


@pytest.mark.parametrize("fmt", ["json", "csv", "junit", "html"])
def test_a_format_walks_the_rows_twice_at_most(fmt):
    rows = Walks(make_summary().rows)
    report.render(dataclasses.replace(make_summary(), rows=rows), fmt)
    assert rows.walks == 2


# --- StoredRows ----------------------------------------------------------------------------

def test_stored_rows_iterate_twice_and_len_matches(db):
    run = seed(db, 25)
    rows = store.StoredRows(db, run)
    first, second = [r.citation.id for r in rows], [r.citation.id for r in rows]
    assert first == second == [str(k) for k in range(1, 26)]        # numeric order, each time
    assert len(rows) == 25 and bool(rows)
    assert rows[0].citation.id == "1" and rows[-1].citation.id == "25"
    assert [r.citation.id for r in rows[3:6]] == ["4", "5", "6"]
    assert rows[::10] == tuple(rows)[::10]
    with pytest.raises(IndexError):
        rows[25]
    assert tuple(rows) == tuple(store.iter_rows(db, run))
    empty = store.StoredRows(db, run + 1)
    assert len(empty) == 0 and list(empty) == [] and not empty


def test_stored_rows_carry_the_latest_found_archive(db):
    run = seed(db, 10)
    rows = {r.citation.id: r for r in store.StoredRows(db, run)}
    assert rows["1"].archive_url == "https://web.archive.org/web/2025-06-01/1"
    assert rows["1"].archive_date == "2025-06-01"
    assert rows["2"].archive_url == "" and rows["2"].archive_date == ""
    with db.conn:       # a later lookup that found nothing does not hide the copy we know
        db.conn.execute("insert into archives (url, accessed, kind, archive_url, archive_date,"
                        " status, looked_up_at) values (?,?,?,?,?,?,?)",
                        ["https://h1.example/a/1", "2025-03-01", "cdx", "", "", "none", "x"])
    assert store.StoredRows(db, run)[0].archive_url == "https://web.archive.org/web/2025-06-01/1"


def test_stored_rows_without_an_archives_table(db):
    run = seed(db, 5, archives=False)
    assert [r.archive_url for r in store.StoredRows(db, run)] == [""] * 5


# --- a check writing while a report is read ---------------------------------------------------

def late_verdict(k: int) -> Verdict:
    return Verdict(str(k), f"https://late.example/{k}", Status.NOT_FOUND, http_status=404,
                   checked_at="2026-01-09T00:00:00+00:00")


def test_a_report_read_while_a_check_writes_is_one_snapshot(tmp_path):
    path = tmp_path / "crawler.db"
    db = store.open_db(path)
    run = seed(db, 30, runs=1)
    writer = store.open_db(path)                 # the running check, another connection

    class Interleaved(io.StringIO):
        def write(self, text):                   # a verdict is committed mid-report
            if self.tell() == 0:
                store.record_result(writer, run, late_verdict(1000 + len(text)))
            return super().write(text)

    out = Interleaved()
    with store.snapshot(db):
        summary = store.build_summary(db, run)
        report.write(summary, "json", report.DEFAULT, out)
    doc = json.loads(out.getvalue())
    assert doc["run"]["citations"] == len(doc["citations"]) == 30
    assert len(store.StoredRows(db, run)) == 31                      # the snapshot is over

    out = Interleaved()                          # outside a snapshot: no crash, valid output
    report.write(store.build_summary(db, run), "junit", report.DEFAULT, out)
    assert len(ET.fromstring(out.getvalue()).findall("./testsuite/testcase")) >= 31


def test_crawler_report_reads_one_snapshot_while_a_check_writes(tmp_path, monkeypatch):
    path = tmp_path / "crawler.db"
    run = seed(store.open_db(path), 30, runs=1)
    writer = store.open_db(path)
    record = report_records.citation_record
    added: list[int] = []

    def record_and_write(row, result):
        added.append(1)
        store.record_result(writer, run, late_verdict(2000 + len(added)))
        return record(row, result)

    monkeypatch.setattr(report_json, "citation_record", record_and_write)
    out = tmp_path / "report.json"
    res = CliRunner().invoke(cli, ["report", "--db", str(path), "--format", "json",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["run"]["citations"] == len(doc["citations"]) == 30 and len(added) == 30
    res = CliRunner().invoke(cli, ["report", "--db", str(path), "--format", "csv"])
    assert res.exit_code == 0
    assert len(list(csv.DictReader(io.StringIO(res.output)))) == 60     # the next one sees all


def test_crawler_report_to_stdout_and_to_a_file(stored, tmp_path):
    db_path = stored.rows.db.conn.execute("pragma database_list").fetchone()[2]
    for fmt in report.FORMATS:
        res = CliRunner().invoke(cli, ["report", "--db", db_path, "--format", fmt])
        text = report.render(stored, fmt)
        assert res.exit_code == 0 and res.stdout == (text if text.endswith("\n") else text + "\n")
        out = tmp_path / f"r.{fmt}"
        res = CliRunner().invoke(cli, ["report", "--db", db_path, "--format", fmt, "-o", str(out)])
        assert res.exit_code == 0 and out.read_text(encoding="utf-8") == text


def test_a_failed_render_keeps_the_previous_report(tmp_path):
    path = tmp_path / "report.html"
    path.write_text("the last good report", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with report_output.output_file(path) as fh:
            fh.write("<!DOCTYPE html> half a report")
            raise RuntimeError("renderer failed")
    assert path.read_text(encoding="utf-8") == "the last good report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_chunked_writer_gathers_writes():
    emitted: list[str] = []
    sink = report_output.ChunkedWriter(emitted.append, size=10)
    for part in ["abc", "", "defgh", "ij", "k\n"]:
        sink.write(part)
    assert emitted == ["abcdefghij"] and sink.last == "\n"
    sink.flush()
    sink.flush()
    assert emitted == ["abcdefghij", "k\n"]


# --- the end of `crawler check` -------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["table", "json", "csv", "html"])
def test_finish_writes_the_output_and_the_job_summary(fmt, stored, tmp_path, monkeypatch,
                                                      capsys):
    step = tmp_path / "step.md"
    step.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    out = tmp_path / f"out.{fmt}"
    fail_on = parse_fail_on("not_found,dead")
    code = main_job._finish(stored, fail_on, fmt, str(out))
    result = evaluate(stored, fail_on)
    assert code == result.exit_code == 1
    expected = (click.unstyle(console.table(stored)) if fmt == "table"
                else report.render(stored, fmt, fail_on))
    assert out.read_text(encoding="utf-8") == expected
    assert step.read_text(encoding="utf-8") == ("earlier step\n"
                                                + report.render(stored, "md", fail_on) + "\n")
    err = capsys.readouterr().err
    assert [ln[6:] for ln in err.splitlines() if ln.startswith("hint: ")] == hints(stored)
    assert f"{len(result.failures)} failing under --fail-on" in err

    code = main_job._finish(stored, fail_on, fmt, None)          # stdout: the same, and a newline
    assert capsys.readouterr().out == click.unstyle(expected) + "\n"


def test_table_lines_are_the_table(stored):
    assert "\n".join(console.table_lines(stored)) == console.table(materialised(stored))
    assert console.table(make_summary([])).splitlines()[-1] == ""


# --- memory: a walk holds one row, not all of them -------------------------------------------

class Discard:
    def __init__(self):
        self.chars = 0

    def write(self, text):
        self.chars += len(text)


class Census:
    """Rows that, every `every` rows, count the Rows and citation records alive anywhere."""

    def __init__(self, rows, every: int = 200):
        self.rows, self.every, self.most = rows, every, 0

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        for i, row in enumerate(self.rows):
            if i % self.every == self.every - 1:
                alive = sum(1 for o in gc.get_objects() if isinstance(o, Row) or (
                    isinstance(o, dict) and "outcome" in o and "redirects" in o))
                self.most = max(self.most, alive)
            yield row


def healthy_run(db, n: int) -> int:
    """A run of `n` citations, all fine (so the policy keeps nothing), written in bulk."""
    store.upsert_citations(db, (Citation(str(k), authors=("A",), title=f"Title {k}",
                                         outlet="Outlet", url=f"https://h{k % 50}.example/{k}")
                                for k in range(1, n + 1)))
    run = store.start_run(db)
    with db.conn:
        db.conn.executemany(
            "insert into results (run_id, citation_id, url, checked_at, status, http_status,"
            " redirects, page_title, title_score, title_match, date_verdict, health, attempts,"
            " elapsed_ms, error) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            ((run, str(k), f"https://h{k % 50}.example/{k}", "2026-01-01T00:00:00+00:00",
              "not_found" if k % 10 == 0 else "ok", 404 if k % 10 == 0 else 200, "[]",
              f"Title {k} - Outlet", 97.0, 1, "ok", "ok", 1, 100, "")
             for k in range(1, n + 1)))
    store.finish_run(db, run)
    return run


@pytest.mark.parametrize("fmt", report.FORMATS)
def test_writing_a_stored_report_holds_a_row_at_a_time(fmt, tmp_path, monkeypatch):
    monkeypatch.setattr("crawler.report_templates.MD_MAX_ROWS", 20)     # Markdown keeps those few
    db = store.open_db(tmp_path / "big.db")
    stored_summary = store.build_summary(db, healthy_run(db, 1000))
    rows = Census(stored_summary.rows)
    summary = dataclasses.replace(stored_summary, rows=rows)
    _finish_like = report_records.make_digest(summary, report.DEFAULT)
    sink = Discard()
    report.write(summary, fmt, report.DEFAULT, sink, _finish_like)
    assert 0 < rows.most <= 25, rows.most       # of 1,000 (20: the Markdown table's rows)
    assert sink.chars == len(report.render(materialised(stored_summary), fmt))


def test_a_tuple_of_rows_is_counted_by_the_census():
    """The census sees rows that are held (what the test above rules out)."""
    rows = Census(tuple(make_row(str(k)) for k in range(600)), every=100)
    report.render(dataclasses.replace(make_summary(), rows=rows), "json")
    assert rows.most >= 600
