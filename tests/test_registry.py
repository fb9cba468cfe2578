"""citations.csv: the committed registry, round trips, streaming, and row/column-precise validation."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
from pathlib import Path

import pytest
from conftest import ARTICLE, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.model import Citation, RowError
from crawler.registry import (
    COLUMNS,
    Stats,
    iter_csv,
    load_csv,
    parse_article,
    validate,
    validate_stats,
    write_csv,
)

HEADER = ",".join(COLUMNS) + "\n"
TODAY = dt.date(2026, 1, 1)
GOOD = "1,A; B,Title,Outlet,2025-01-09,https://example.com/a,2025-12-22,en,raw text\n"


def registry(tmp_path: Path, body: str | bytes, header: str = HEADER) -> Path:
    path = tmp_path / "citations.csv"
    path.write_bytes(header.encode() + (body if isinstance(body, bytes) else body.encode()))
    return path


def problems(tmp_path: Path, body: str | bytes, header: str = HEADER) -> list[str]:
    return [str(e) for e in validate(registry(tmp_path, body, header), today=TODAY)]


# -- the committed registry -----------------------------------------------------------------

@pytest.mark.skipif(not ARTICLE.exists(), reason="../shared/articles is not checked out")
def test_committed_registry_is_the_parser_output_byte_for_byte():
    citations, errors = parse_article(ARTICLE.read_bytes(), ARTICLE.name)
    out = io.StringIO()
    write_csv(citations, out)
    assert errors == []
    assert out.getvalue().encode("utf-8") == (ROOT / "citations.csv").read_bytes()


def test_committed_registry_loads_and_validates_clean():
    citations, errors = load_csv(ROOT / "citations.csv")
    assert errors == [] and len(citations) == 25
    assert citations[20].authors == ("Miranda Priebe", "John M. Schuessler", "Bryan Rooney",
                                     "Jasen J. Castillo")
    found, stats = validate_stats(ROOT / "citations.csv", today=TODAY)
    assert [(e.line, e.column, e.severity) for e in found] == [(24, "url", "note")]
    assert str(stats) == "25 citations, 24 unique URLs over 12 hosts, 0 errors, 1 note"


# -- round trip -----------------------------------------------------------------------------

def test_round_trip_keeps_every_field(tmp_path):
    rows = [Citation("1", ("Ann Lee", "Bo Kim"), 'A "quoted", title', "Outlet", "2025-01-09",
                     "https://example.com/a?x=1&y=2", "2025-12-22", "en", "line one\nline two"),
            Citation("2", (), "「題名」", "『媒体』", "2025-01", "https://例え.jp/記事", "2025-12-22", "ja", "生")]
    path = tmp_path / "c.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        assert write_csv(rows, fh) == 2
    assert load_csv(path) == (rows, [])
    assert path.read_bytes().startswith(HEADER.encode())


names = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=";"), min_size=1
                ).map(str.strip).filter(bool)
cells = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.builds(Citation, id=st.from_regex(r"[0-9a-z]{1,5}", fullmatch=True),
                          authors=st.lists(names, max_size=3).map(tuple), title=cells, outlet=cells,
                          url=cells.map(str.strip), raw=cells), max_size=5, unique_by=lambda c: c.id))
def test_round_trip_property(tmp_path, rows):
    path = tmp_path / "p.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        write_csv(rows, fh)
    assert load_csv(path) == (rows, [])


# -- streaming ------------------------------------------------------------------------------

def test_iter_csv_streams_in_bounded_memory(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        fh.writelines(f"{i},,Title {i},Outlet,2025-01-09,https://h{i % 50}.example/{i},2025-12-22,en,"
                     f"{'raw ' * 20}\n" for i in range(100_000))
    assert path.stat().st_size > 15_000_000
    tracemalloc.start()
    count = sum(1 for item in iter_csv(path) if isinstance(item, Citation))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 100_000
    assert peak < 2_000_000, f"peak {peak} bytes: rows are being kept"


# -- loading keeps good rows ----------------------------------------------------------------

def test_bad_rows_are_reported_and_good_rows_kept(tmp_path):
    body = GOOD + "2,only,three\n" + GOOD.replace("1,", "3,", 1) + ",,,,,,,,\n" + GOOD
    citations, errors = load_csv(registry(tmp_path, body))
    assert [c.id for c in citations] == ["1", "3"]
    assert [(e.line, e.column) for e in errors] == [(3, ""), (5, "id"), (6, "id")]
    assert "3 fields" in errors[0].message and "duplicate id '1' (first on line 2)" in errors[2].message


def test_unclosed_quote_costs_one_row_not_the_rest(tmp_path):
    body = GOOD + '2,,"unclosed,Outlet,2025-01-09,https://e.com/b,2025-12-22,en,x\n' + \
        GOOD.replace("1,", "3,", 1) + GOOD.replace("1,", "4,", 1)
    citations, errors = load_csv(registry(tmp_path, body))
    assert [c.id for c in citations] == ["1", "3", "4"]
    assert len(errors) == 1 and errors[0].line == 3 and "malformed CSV" in errors[0].message


def test_bad_encoding_names_the_row_and_column(tmp_path):
    latin = "2,,Tété,O,2025-01-09,https://e.com/b,2025-12-22,en,x\n".encode("latin-1")
    path = registry(tmp_path, GOOD.encode() + latin + GOOD.replace("1,", "3,", 1).encode())
    citations, errors = load_csv(path)
    assert [c.id for c in citations] == ["1", "3"]
    assert (errors[0].line, errors[0].column) == (3, "title") and "not UTF-8" in errors[0].message


def test_multiline_cell_rows_are_numbered_by_their_first_line(tmp_path):
    body = GOOD.replace("raw text", '"two\nlines"') + "2,,T,O,2025-01-09,ftp://e.com/b,2025-12-22,en,x\n"
    expected = f"{tmp_path / 'citations.csv'}:4 [url]: error: not an http(s) URL: 'ftp://e.com/b'"
    assert problems(tmp_path, body) == [expected]


def test_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + GOOD).replace("\n", "\r\n").encode())
    assert load_csv(path)[0][0].raw == "raw text"


def test_missing_columns_are_one_header_error_and_without_url_nothing_loads(tmp_path):
    citations, errors = load_csv(registry(tmp_path, "1,https://e.com/a\n", header="id,url\n"))
    assert [c.url for c in citations] == ["https://e.com/a"]
    assert errors[0].line == 1 and errors[0].column.startswith("authors, title")
    citations, errors = load_csv(registry(tmp_path, "1,x\n", header="id,title\n"))
    assert citations == [] and "url" in errors[0].column


# -- validation -----------------------------------------------------------------------------

def row(**kw: str) -> str:
    values = dict(zip(COLUMNS, ["1", "", "T", "O", "2025-01-09", "https://example.com/a", "2025-12-22", "en",
                                "raw"]))
    values.update(kw)
    return ",".join(values[c] for c in COLUMNS) + "\n"


@pytest.mark.parametrize("kw, column, words", [
    ({"url": ""}, "url", "missing URL"),
    ({"url": "ftp://example.com/a"}, "url", "not an http(s) URL"),
    ({"url": "https://example.com/a b"}, "url", "whitespace"),
    ({"url": " https://example.com/a"}, "url", "whitespace"),
    ({"url": "<https://example.com/a>"}, "url", "percent-encoded"),
    ({"url": "https://exa_mple..com/a"}, "url", "unparseable host"),
    ({"url": "https://[::1/a"}, "url", "unparseable URL"),
    ({"url": "https://example.com:99999/"}, "url", "unparseable URL"),
    ({"url": "https:///a"}, "url", "no host"),
    ({"published": "2025-02-30"}, "published", "unparseable date"),
    ({"published": "9 Jan 2025"}, "published", "unparseable date"),
    ({"accessed": "2025-13-01"}, "accessed", "unparseable date"),
    ({"published": "2025-12-23"}, "accessed", "before published"),
    ({"accessed": "2026-01-02"}, "accessed", "in the future"),
    ({"lang": "Japanese"}, "lang", "language"),
])
def test_each_problem_names_row_and_column(tmp_path, kw, column, words):
    found = validate(registry(tmp_path, row() + row(id="2", **kw)), today=TODAY)
    errors = [e for e in found if e.severity == "error"]
    assert [(e.line, e.column) for e in errors] == [(3, column)]
    assert words in errors[0].message
    assert str(errors[0]).startswith(f"{tmp_path / 'citations.csv'}:3 [{column}]: error: ")


@pytest.mark.parametrize("kw", [{"url": "http://例え.jp/記事"}, {"url": "https://[2001:db8::1]/a"},
                                {"url": "https://example.com:8080/a?k=1&g=int"}, {"published": "2025-12"},
                                {"published": "2025"}, {"published": "2025-12-22"}, {"published": ""},
                                {"accessed": ""}, {"accessed": "2026-01-01"}, {"lang": ""}])
def test_acceptable_values_raise_nothing(tmp_path, kw):
    assert validate(registry(tmp_path, row(**kw)), today=TODAY) == []


def test_month_precision_publication_is_compared_generously(tmp_path):
    """'2025-12' could be any day of December: only an access before December is an error."""
    assert validate(registry(tmp_path, row(published="2025-12", accessed="2025-12-01")), today=TODAY) == []
    assert validate(registry(tmp_path, row(published="2025-12", accessed="2025-11-30")), today=TODAY)


def test_duplicate_id_is_an_error_and_repeated_url_a_note(tmp_path):
    found, stats = validate_stats(registry(tmp_path, row() + row(id="2", url="https://EXAMPLE.com/a")
                                           + row()), today=TODAY)
    assert [(e.line, e.column, e.severity) for e in found] == [(3, "url", "note"), (4, "id", "error"),
                                                               (4, "url", "note")]
    assert (stats.citations, stats.urls, stats.hosts, stats.errors, stats.notes) == (3, 1, 1, 1, 2)
    assert str(stats) == "3 citations, 1 unique URL over 1 host, 1 error, 2 notes"


def test_summary_line_counts_in_singular_and_plural():
    assert str(Stats(1, 1, 1, 1, 1)) == "1 citation, 1 unique URL over 1 host, 1 error, 1 note"
    assert str(Stats(0, 0, 0, 0, 0)) == "0 citations, 0 unique URLs over 0 hosts, 0 errors, 0 notes"
    assert str(Stats(2, 2, 2, 2, 2)) == "2 citations, 2 unique URLs over 2 hosts, 2 errors, 2 notes"


def test_validate_accepts_rows_in_memory():
    rows = [Citation("1", url="https://a.example/"), Citation("1", url="mailto:x@y"),
            RowError("mem", 9, "broken")]
    found = validate(rows, today=TODAY)
    assert [(e.line, e.column) for e in found] == [(3, "id"), (3, "url"), (9, "")]


def test_default_today_does_not_flag_an_access_date_typed_in_tokyo_today(tmp_path):
    tokyo_today = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=9)).date().isoformat()
    assert validate(registry(tmp_path, row(accessed=tokyo_today))) == []


# -- never raises ---------------------------------------------------------------------------

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_load_and_validate_never_raise_on_arbitrary_bytes(tmp_path, data):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    citations, errors = load_csv(path)
    assert all(isinstance(c, Citation) and c.id for c in citations)
    assert all(isinstance(e, RowError) for e in errors)
    assert all(isinstance(e, RowError) for e in validate(path, today=TODAY))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(["", "1", "x", '"', '""', "https://a.example/", "http://[",
                                          "2025-01-09", "2025-99-99", "\n", ",", "\xe9", "ja", "; "]),
                         max_size=12), max_size=6))
def test_validate_never_raises_on_csv_shaped_noise(tmp_path, rows):
    path = registry(tmp_path, "".join(",".join(r) + "\n" for r in rows))
    for e in validate(path, today=TODAY):
        assert e.line >= 1 and e.severity in ("error", "note")


def test_empty_file_and_unreadable_path_are_whole_file_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert [(e.line, "empty registry" in e.message) for e in validate(empty)] == [(0, True)]
    citations, errors = load_csv(tmp_path)          # a directory: open() fails
    assert citations == [] and errors[0].line == 0 and "cannot read" in errors[0].message
