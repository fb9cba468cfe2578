"""Every report format parses, carries every citation, and escapes hostile page text."""

from __future__ import annotations

import csv
import dataclasses
import html as html_lib
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest

from crawler.chart import nice_step, trend_svg, when
from crawler.model import (
    Citation,
    DateVerdict,
    Health,
    Hop,
    Row,
    RunInfo,
    Status,
    Summary,
    Verdict,
)
from crawler.policy import parse_fail_on
from crawler.report import FORMATS, render, render_timeline
from crawler.report_csv import CSV_FIELDS
from crawler.report_json import report_schema
from crawler.report_records import human_duration
from crawler.report_templates import md_cell, safe_url

HOSTILE = "<script>alert(1)</script> | pipe\nnewline & \x0bvt"


def make_row(cid: str, status: Status = Status.OK, *, health: Health = Health.OK,
             page_title: str = "", title_match: bool | None = True, http: int = 200,
             failing_since: str = "", archive: str = "", **kw) -> Row:
    """One row with a plausible verdict; keyword args go to Verdict."""
    url = kw.pop("url", f"https://news{cid}.example/a/{cid}")
    citation = Citation(cid, authors=("Ann Author",), title=f"Cited title {cid}",
                        outlet=f"Outlet {cid}", published="2025-01-02", url=url,
                        accessed="2025-02-03", lang="en")
    verdict = Verdict(cid, url, status, final_url=kw.pop("final_url", url), http_status=http,
                      page_title=page_title or f"Cited title {cid}", title_match=title_match,
                      title_score=kw.pop("title_score", 96.0), health=health, attempts=1,
                      elapsed_ms=120, checked_at="2026-11-24T01:00:05+00:00", **kw)
    return Row(citation, verdict, failing_since=failing_since, archive_url=archive,
               archive_date="2025-03-01" if archive else "")


def make_summary(rows: list[Row] | None = None, *, runs: int = 5, **kw) -> Summary:
    """A realistic run: ok, redirected, a one-night 404, a dead 410, a bot wall, a hostile title."""
    if rows is None:
        rows = [
            make_row("1"),
            make_row("2", Status.REDIRECTED, http=301,
                     final_url="https://new.example/moved", redirects=(Hop("https://news2.example/a/2", 301),)),
            make_row("3", Status.NOT_FOUND, health=Health.FAILING, http=404,
                     failing_since="2026-11-24T01:00:00+00:00", title_match=None),
            make_row("4", Status.GONE, health=Health.DEAD, http=410,
                     failing_since="2026-11-18T01:00:00+00:00", archive="https://web.archive.org/web/2025/x"),
            make_row("5", Status.BLOCKED, health=Health.UNKNOWN, http=403, error="Cloudflare challenge"),
            make_row("6", Status.OK, page_title=HOSTILE, title_match=False, title_score=12.0,
                     date_verdict=DateVerdict.MODIFIED_AFTER_ACCESS),
        ]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.verdict.status.value] = counts.get(r.verdict.status.value, 0) + 1
    history = tuple(RunInfo(i, f"2026-11-{10 + i:02d}T01:00:00+00:00", "", "finished",
                            {"ok": 4 + i % 2, "not_found": 1, "blocked": 1}) for i in range(1, runs))
    run = RunInfo(runs, "2026-11-24T01:00:00+00:00", "2026-11-24T01:03:30+00:00", "finished", counts)
    return Summary(run=run, rows=tuple(rows), history=history, **kw)


def hostile_summary() -> Summary:
    row = make_row("h", Status.OK, page_title=HOSTILE, title_match=False, title_score=10.0,
                   error=HOSTILE, final_url="javascript:alert(1)")
    return make_summary([row, make_row("1")], newly_failing=("h",))


# --- JSON ---

def validate(instance, schema, path="$"):
    """A small JSON Schema checker (type, enum, const, required, properties, items)."""
    types = schema.get("type")
    if types:
        names = types if isinstance(types, list) else [types]
        py = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
              "integer": int, "number": (int, float)}
        ok = any(isinstance(instance, py[n]) and not (n in ("integer", "number")
                 and isinstance(instance, bool)) for n in names)
        assert ok, f"{path}: {instance!r} is not {names}"
    if "enum" in schema:
        assert instance in schema["enum"], f"{path}: {instance!r} not in enum"
    if "const" in schema:
        assert instance == schema["const"], path
    if isinstance(instance, dict):
        for key in schema.get("required", []):
            assert key in instance, f"{path}: missing {key}"
        props = schema.get("properties", {})
        for key, value in instance.items():
            if key in props:
                validate(value, props[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                raise AssertionError(f"{path}: unexpected key {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                validate(value, schema["additionalProperties"], f"{path}.{key}")
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            validate(item, schema["items"], f"{path}[{i}]")


def test_json_matches_published_schema():
    doc = json.loads(render(make_summary(), "json"))
    validate(doc, report_schema())
    assert [c["id"] for c in doc["citations"]] == ["1", "2", "3", "4", "5", "6"]
    assert doc["run"]["duration_s"] == 210.0
    assert doc["run"]["policy"]["exit_code"] == 1
    assert len(doc["history"]) == 5
    by_id = {c["id"]: c for c in doc["citations"]}
    assert by_id["4"]["outcome"] == "fail" and by_id["3"]["outcome"] == "warn"
    assert by_id["5"]["outcome"] == "skip"
    assert by_id["4"]["archive"] == {"url": "https://web.archive.org/web/2025/x", "date": "2025-03-01"}
    assert by_id["2"]["redirects"] == [{"url": "https://news2.example/a/2", "status_code": 301}]


def test_latest_run_counted_once_even_if_history_has_it():
    summary = make_summary()
    doubled = dataclasses.replace(summary, history=(*summary.history, summary.run))
    assert json.loads(render(doubled, "json"))["history"] == json.loads(render(summary, "json"))["history"]
    assert render(doubled, "html").count('<g class="run">') == 5


def test_schema_checker_rejects_a_wrong_document():
    doc = json.loads(render(make_summary(), "json"))
    doc["citations"][0]["status"] = "fine"
    with pytest.raises(AssertionError):
        validate(doc, report_schema())


def test_schema_is_valid_against_jsonschema_when_installed():
    jsonschema = pytest.importorskip("jsonschema")
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(render(hostile_summary(), "json")), schema)


# --- JUnit ---

def test_junit_one_testcase_per_citation_with_policy_mapping():
    root = ET.fromstring(render(make_summary(), "junit"))
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 6 == int(suite.get("tests"))
    by_id = {re.match(r"\[(\w+)\]", c.get("name")).group(1): c for c in cases}
    assert by_id["4"].find("failure") is not None                 # dead: fatal
    assert by_id["6"].find("failure") is not None                 # title changed: fatal
    assert by_id["3"].find("failure") is None                     # one night: warning
    assert "WARNING" in by_id["3"].find("system-out").text
    assert by_id["5"].find("skipped") is not None                 # bot wall: could not look
    assert suite.get("failures") == "2" and suite.get("skipped") == "1"
    for case in cases:
        assert case.get("classname").startswith("citations.") and float(case.get("time")) >= 0


def test_junit_honours_fail_on():
    root = ET.fromstring(render(make_summary(), "junit", parse_fail_on("not_found,gone")))
    failed = [c.get("name")[:3] for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["[3]", "[4]"]


# --- Markdown ---

def cells(line: str) -> list[str]:
    """Split a GFM table row on unescaped pipes."""
    assert line.startswith("|") and line.endswith("|"), line
    return re.split(r"(?<!\\)\|", line[1:-1])


def assert_tables_well_formed(md: str) -> int:
    tables, current = 0, None
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            if current is None:
                current, tables = len(cells(line)), tables + 1
            assert len(cells(line)) == current, f"ragged row: {line}"
        else:
            current = None
    return tables


def test_markdown_tables_have_the_header_shape():
    md = render(make_summary(), "md")
    assert assert_tables_well_formed(md) == 4
    assert "❌ policy violated" in md
    for cid in "123456":
        assert re.search(rf"^\| {cid} \|", md, re.MULTILINE)


def test_markdown_caps_the_full_table(monkeypatch):
    monkeypatch.setattr("crawler.report_templates.MD_MAX_ROWS", 2)
    md = render(make_summary(), "md")
    assert "4 more citations are in the HTML report" in md
    assert assert_tables_well_formed(md) == 4


def test_markdown_cell_escapes():
    assert md_cell("a|b\nc") == r"a\|b c"
    assert md_cell("<b>x</b>") == r"&lt;b&gt;x&lt;/b&gt;"
    assert md_cell("[click](javascript:x)") == r"\[click\](javascript:x)"


# --- CSV ---

def test_csv_one_row_per_citation():
    rows = list(csv.DictReader(io.StringIO(render(make_summary(), "csv"))))
    assert len(rows) == 6 and tuple(rows[0]) == CSV_FIELDS
    assert rows[1]["redirects"] == "1" and rows[3]["archive_url"].startswith("https://")


def test_csv_defuses_formulas():
    row = make_row("f", page_title="=HYPERLINK(\"http://evil\")", title_match=False)
    out = list(csv.DictReader(io.StringIO(render(make_summary([row]), "csv"))))
    assert out[0]["page_title"].startswith("'=")


# --- hostile text in every format ---

@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_title_is_escaped_in_every_format(fmt):
    text = render(hostile_summary(), fmt)
    if fmt == "csv":                  # data, not markup: quoted so it stays in its one cell
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == 2 and rows[0]["page_title"] == HOSTILE
        return
    assert "<script>" not in text
    assert 'href="javascript:' not in text and "](javascript:" not in text   # shown, never linked
    if fmt == "junit":
        ET.fromstring(text)                            # control characters did not break XML
        assert "&lt;script&gt;" in text
    if fmt == "json":
        assert json.loads(text)["citations"][0]["page_title"] == HOSTILE
    if fmt == "md":
        assert_tables_well_formed(text)
    if fmt == "html":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_safe_url_only_http():
    assert safe_url("javascript:alert(1)") == ""
    assert safe_url("https://a.example/x (y)|z") == "https://a.example/x%20%28y%29%7Cz"


# --- HTML ---

def test_html_has_chart_rows_and_robust_links():
    html = render(make_summary(), "html")
    assert html.count('<tr id="c-') == 6
    assert "<svg" in html and "<script" not in html
    assert 'data-versionurl="https://web.archive.org/web/2025/x"' in html
    assert 'data-versiondate="2025-03-01"' in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no network


def test_unknown_format_is_an_error():
    with pytest.raises(ValueError, match="unknown report format"):
        render(make_summary(), "pdf")


# --- chart and timeline ---

def test_chart_axis_and_legend():
    svg = trend_svg(make_summary().history)
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "citations" in texts and "run # and start date (UTC)" in texts
    assert "broken" in texts and "ok / redirected" in texts and "could not check" in texts
    runs = [RunInfo(i, f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}T01:00:00", counts={"ok": 3})
            for i in range(40)]
    labels = [t.text for t in ET.fromstring(trend_svg(runs)).iter("{http://www.w3.org/2000/svg}text")]
    assert "#39" in labels and "2026-02-12" in labels                # the latest run is labelled
    assert sum(1 for t in labels if t and t.startswith("#")) <= 9
    assert sum(1 for t in labels if t and t.startswith("2026-")) <= 9
    assert ET.fromstring(trend_svg([])) is not None


def svg_texts(svg: str, cls: str) -> list[tuple[str, str]]:
    """(x, text) of the chart's text elements of one class, left to right."""
    root = ET.fromstring(svg)
    return [(t.get("x"), t.text) for t in root.iter("{http://www.w3.org/2000/svg}text")
            if t.get("class") == cls]


def test_chart_labels_runs_by_number_and_each_day_once():
    """Five runs on one day and two on the next: every bar is told apart by its run id."""
    runs = [RunInfo(10 + i, f"2026-11-24T{i:02d}:00:00+00:00", counts={"ok": 3}) for i in range(5)]
    runs += [RunInfo(20 + i, f"2026-11-25T0{i}:30:00+00:00", counts={"ok": 3}) for i in range(2)]
    svg = trend_svg(runs)
    ids = svg_texts(svg, "tick")
    dates = svg_texts(svg, "tick date")
    assert [t for _, t in ids if t.startswith("#")] == ["#10", "#11", "#12", "#13", "#14",
                                                         "#20", "#21"]
    assert dates == [(ids[-7][0], "2026-11-24"), (ids[-2][0], "2026-11-25")]   # under #10, #20
    assert "run #12, started 2026-11-24 02:00 UTC: ok 3" in svg                # the tooltip


@pytest.mark.parametrize("iso,shown", [
    ("2026-11-24T17:05:09+00:00", "2026-11-24 17:05 UTC"),
    ("2026-11-25T02:05:00+09:00", "2026-11-24 17:05 UTC"),       # converted to UTC
    ("2026-11-24T17:05:00", "2026-11-24 17:05 UTC"),             # naive: stored as UTC
    ("", ""), ("garbage", "garbage"),
])
def test_when_is_minutes_in_utc(iso, shown):
    assert when(iso) == shown


@pytest.mark.parametrize("seconds,shown", [
    (None, ""), (0.4, "0.4 s"), (42.4, "42 s"), (60, "1 min"), (210.0, "3 min 30 s"),
    (3600, "1 h"), (7300, "2 h 1 min"),
])
def test_human_duration(seconds, shown):
    assert human_duration(seconds) == shown


@pytest.mark.parametrize("top,step", [(1, 1), (6, 2), (9, 2), (40, 10), (120, 50), (0, 1)])
def test_nice_step(top, step):
    assert nice_step(top) == step


def test_timeline_is_plain_and_defuses_escape_sequences():
    citation = Citation("7", title="A title", outlet="Outlet", url="https://a.example/")
    text = render_timeline(citation, [
        ("2026-11-22T01:00:00+00:00", "ok", 200, 97.0, ""),
        ("2026-11-23T01:00:00+00:00", "not_found", 404, None, "\x1b[31mred\x1b[0m"),
    ])
    assert "\x1b" not in text and "\\x1b[31mred" in text
    lines = text.splitlines()
    assert lines[0] == "[7] A title" and "not_found" in lines[-1] and "404" in lines[-1]
    assert "(never checked)" in render_timeline(citation, [])


# --- the HTML table says each thing once, and its colours agree with its badges ---

def html_row(html: str, cid: str) -> str:
    m = re.search(rf'<tr id="c-{cid}" class="citation o-(\w+)">(.*?)</tr>', html, re.S)
    assert m, cid
    return m.group(1) + "|" + m.group(2)


def cell(row: str, cls: str) -> str:
    m = re.search(rf'<td class="{cls}[^"]*">(.*?)</td>', row, re.S)
    assert m, cls
    return re.sub(r"<[^>]+>", "", m.group(1)).strip()


def test_markdown_title_changed_row_names_the_new_title_once():
    row = make_row("6", page_title="Buy cheap watches", title_match=False, title_score=12.0)
    md = render(make_summary([row]), "md")
    line = next(ln for ln in md.splitlines() if ln.startswith("| 6 | fails |"))
    assert "| ok (title changed) |" in line
    assert line.endswith("| title changed (score 12); page now says “Buy cheap watches” |")


def test_html_title_changed_row_shows_its_failure_not_just_ok():
    html = render(make_summary(), "html")
    row = html_row(html, "6")
    assert row.startswith("fail|")                                   # red row ...
    status = cell(row, "status")
    assert status.startswith("ok 200 title changed")                 # ... says why in a badge
    assert '<span class="badge g-broken">title changed</span>' in row
    assert '<span class="badge out-fail">fails</span>' in row
    assert "title changed" not in cell(html_row(html, "1"), "status")   # a good row has none


@pytest.mark.parametrize("status,http,shown", [
    (Status.OK, 200, True), (Status.REDIRECTED, 301, True), (Status.PAYWALLED, 200, True),
    (Status.NOT_FOUND, 404, False), (Status.GONE, 410, False), (Status.SERVER_ERROR, 500, False),
    (Status.SOFT_404, 200, False), (Status.BLOCKED, 403, False),
])
def test_title_score_only_where_we_read_the_cited_page(status, http, shown):
    row = make_row("9", status, http=http, title_score=73.0, health=Health.FAILING)
    summary = make_summary([row])
    html_cells = html_row(render(summary, "html"), "9")
    assert (cell(html_cells, "num") == "73") is shown
    assert ("no date on page" in cell(html_cells, "date")) is shown
    md_line = next(ln for ln in render(summary, "md").splitlines() if ln.startswith("| 9 | Outlet"))
    assert ("| 73 |" in md_line) is shown
    assert json.loads(render(summary, "json"))["citations"][0]["title_score"] == 73.0   # data kept


@pytest.mark.parametrize("cid,error", [("3", "HTTP 404 Not Found"), ("5", "Cloudflare challenge")])
def test_html_error_text_appears_once_per_row(cid, error):
    rows = [make_row("3", Status.NOT_FOUND, health=Health.FAILING, http=404, error=error),
            make_row("5", Status.BLOCKED, health=Health.UNKNOWN, http=403, error=error)]
    html = render(make_summary(rows), "html")
    row = html_row(html, cid)
    assert row.count(error) == 1
    md = render(make_summary(rows), "md")
    line = next(ln for ln in md.splitlines() if ln.startswith(f"| {cid} | ") and "| reason |" not in ln)
    assert line.count(error) == 1


def test_html_long_final_url_breaks_at_slashes_and_keeps_the_whole_url_in_title():
    long = ("https://www.example-newspaper.com/world/asia/2026/11/23/" + "slug-" * 30
            + "end.html?utm_source=feed&ref=abc")
    row = make_row("2", Status.REDIRECTED, http=301, final_url=long)
    html = render(make_summary([row]), "html")
    td = re.search(r'<td class="url">(.*?)</td>', html, re.S).group(1)
    escaped = long.replace("&", "&amp;")
    assert f'title="{escaped}"' in td and f'href="{escaped}"' in td
    shown = html_lib.unescape(re.sub(r"<[^>]+>", "", re.search(r">(.*)</a>", td, re.S).group(1)))
    assert shown.startswith("www.example-newspaper.com/world/") and "…" in shown
    assert len(shown) <= 90 and shown.endswith("utm_source=feed&ref=abc")
    assert "www.example-newspaper.com/<wbr>world/<wbr>asia/<wbr>" in td
    assert "overflow-wrap: anywhere" not in html      # that squeezes the column to a few letters


def test_html_times_are_readable_with_a_duration():
    html = render(make_summary(), "html")
    assert "Started <time datetime=\"2026-11-24T01:00:00+00:00\">2026-11-24 01:00 UTC</time>" in html
    assert ">2026-11-24 01:03 UTC</time>, took 3 min 30 s." in html
    md = render(make_summary(), "md")
    assert "6 citations checked in 3 min 30 s, started 2026-11-24 01:00 UTC" in md


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_one_name_for_could_not_check_in_human_formats(fmt):
    text = render(make_summary(), fmt)
    assert "could not check" in text
    for old in ("could not look", "could not be checked", "not verifiable", "skip:"):
        assert old not in text.lower()
    if fmt == "md":
        assert re.search(r"^\| 5 \| could not check \|", text, re.M)      # not 'skip'
        assert "**1** could not check" in text and "**2** policy failures" in text


def test_machine_formats_keep_their_keys():
    doc = json.loads(render(make_summary(), "json"))
    assert {c["outcome"] for c in doc["citations"]} == {"ok", "warn", "fail", "skip"}
    assert doc["run"]["policy"]["inconclusive"] == 1
    rows = list(csv.DictReader(io.StringIO(render(make_summary(), "csv"))))
    assert rows[4]["outcome"] == "skip"
