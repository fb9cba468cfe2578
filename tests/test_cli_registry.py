"""`crawler parse` and `crawler validate` end to end: outputs, messages and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ARTICLE, ROOT

from crawler.cli import cli
from crawler.registry import COLUMNS

FIXTURES = Path(__file__).parent / "fixtures" / "articles"
HEADER = ",".join(COLUMNS) + "\n"
ROW = "{id},,T,O,2025-01-09,{url},2025-12-22,en,raw\n"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.skipif(not ARTICLE.exists(), reason="../shared/articles is not checked out")
def test_parse_seed_to_stdout_reproduces_committed_registry():
    res = invoke("parse", str(ARTICLE))
    assert res.exit_code == 0
    assert res.stdout_bytes == (ROOT / "citations.csv").read_bytes()
    assert "25 footnotes, 0 incomplete" in res.stderr


def test_parse_writes_output_file_and_nothing_to_stdout(tmp_path):
    out = tmp_path / "c.csv"
    res = invoke("parse", str(FIXTURES / "endnotes.html"), "-o", str(out))
    assert res.exit_code == 0 and res.stdout == ""
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == HEADER.strip() and len(lines) == 3
    assert "https://www.ft.com/content/abc-123" in lines[2]
    assert not (tmp_path / "c.csv.tmp").exists()


def test_parse_chooses_html_by_content_even_for_a_txt_file(tmp_path):
    res = invoke("parse", str(FIXTURES / "notes-heading.txt"))
    assert res.exit_code == 0
    assert "https://www.asahi.com/articles/ASS2A0000.html" in res.stdout
    assert "<li>" not in res.stdout


def test_incomplete_footnote_is_written_and_reported_but_exit_0(tmp_path):
    out = tmp_path / "c.csv"
    res = invoke("parse", str(FIXTURES / "variants.txt"), "-o", str(out))
    assert res.exit_code == 0
    assert "variants.txt:6 [outlet, published, url, accessed]: error: footnote 6" in res.stderr
    assert out.read_text(encoding="utf-8").splitlines()[-1].startswith("6,田中,出典不明のメモ,")


def test_strict_makes_an_incomplete_footnote_exit_2_yet_still_writes(tmp_path):
    out = tmp_path / "c.csv"
    res = invoke("parse", str(FIXTURES / "variants.txt"), "-o", str(out), "--strict")
    assert res.exit_code == 2
    assert "footnote 6" in res.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 7


def test_strict_on_a_clean_article_exits_0():
    assert invoke("parse", str(FIXTURES / "footnotes.md"), "--strict").exit_code == 0


def test_article_without_footnotes_exits_2_and_writes_nothing(tmp_path):
    article = tmp_path / "prose.txt"
    article.write_text("Only prose here.\n\n1. one\n2. two\n", encoding="utf-8")
    out = tmp_path / "c.csv"
    res = invoke("parse", str(article), "-o", str(out))
    assert res.exit_code == 2 and "no footnote block found" in res.stderr
    assert not out.exists()


def test_parse_missing_article_is_a_usage_error(tmp_path):
    assert invoke("parse", str(tmp_path / "nope.txt")).exit_code == 2


def test_validate_clean_registry_exits_0_with_summary_and_notes(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(HEADER + ROW.format(id=1, url="https://a.example/x")
                    + ROW.format(id=2, url="https://a.example/x"), encoding="utf-8")
    res = invoke("validate", str(path))
    assert res.exit_code == 0
    assert f"{path}:3 [url]: note: URL also cited by id 1 (line 2)" in res.stderr
    assert res.stderr.strip().splitlines()[-1] == \
        "2 citations, 1 unique URL over 1 host, 0 errors, 1 note"


def test_validate_errors_exit_2_naming_row_and_column(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(HEADER + ROW.format(id=1, url="https://a.example/x")
                    + ROW.format(id=1, url="javascript:alert(1)"), encoding="utf-8")
    res = invoke("validate", str(path))
    assert res.exit_code == 2
    assert f"{path}:3 [id]: error: duplicate id '1' (first on line 2)" in res.stderr
    assert f"{path}:3 [url]: error: not an http(s) URL" in res.stderr
    assert "2 errors" in res.stderr


def test_validate_malformed_csv_exits_2(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"id;url\n1;https://a.example/\n")
    res = invoke("validate", str(path))
    assert res.exit_code == 2 and f"{path}:1 [" in res.stderr and "missing column" in res.stderr


def test_validate_defaults_to_citations_csv_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = invoke("validate")
    assert res.exit_code == 2 and "citations.csv" in res.output
    (tmp_path / "citations.csv").write_text(HEADER + ROW.format(id=1, url="https://a.example/"),
                                            encoding="utf-8")
    assert invoke("validate").exit_code == 0


def test_committed_registry_validates():
    res = invoke("validate", str(ROOT / "citations.csv"))
    assert res.exit_code == 0 and "0 errors, 1 note" in res.stderr
