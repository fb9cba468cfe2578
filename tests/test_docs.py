"""The README and --help cannot drift from the CLI; the public API is pinned."""

from pathlib import Path

import pytest
from click.testing import CliRunner

import crawler
from crawler.cli import cli

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_and_is_in_readme(name):
    res = CliRunner().invoke(cli, [name, "--help"])
    assert res.exit_code == 0
    assert len(cli.commands[name].help or "") > 20
    assert f"crawler {name}" in README


def test_readme_first_screen_names_both_setup_commands():
    first_screen = "\n".join(README.splitlines()[:40])
    assert "make check" in first_screen and "make test" in first_screen


def test_public_api_is_pinned():
    assert sorted(crawler.__all__) == sorted([
        "Citation", "DateVerdict", "Fetched", "Health", "Hop", "Page", "RowError", "Status",
        "Verdict", "USER_AGENT", "__version__"])
    for name in crawler.__all__:
        assert hasattr(crawler, name)


def test_python_dash_m_runs_the_cli():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "crawler", "--version"], capture_output=True,
                         text=True, check=True)
    assert crawler.__version__ in out.stdout


def test_progress_bar_renders_on_a_terminal_like_stream(tmp_path):
    """The bar path (taken on a TTY) must work: its dependency is declared and installed."""
    import io

    from crawler.console import Progress
    from crawler.model import Citation, Status, Verdict

    stream = io.StringIO()
    bar = Progress(2, stream=stream, bar=True)
    bar(Citation(id="1"), Verdict(id="1", url="u", status=Status.OK))
    bar(Citation(id="2"), Verdict(id="2", url="u", status=Status.GONE))
    bar.close()
    assert "gone=1" in stream.getvalue() and "ok=1" in stream.getvalue()


def test_declared_dependencies_cover_imports():
    import tomllib
    deps = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    names = " ".join(deps["project"]["dependencies"])
    for module in ("httpx", "selectolax", "tenacity", "sqlite-utils", "click", "protego",
                   "rapidfuzz", "warcio", "jinja2", "htmldate", "tqdm", "sniffio"):
        assert module in names
