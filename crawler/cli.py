"""The thin click CLI over the library. Commands are added per stage."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable

import click

from crawler import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="crawler")
def cli() -> None:
    """Verify an article's citations: registry, polite fetch, verify, store, report."""

# --- check, report, history, config, snapshot, suggest --------------------------------

_SETTING_FLAGS = [
    ("--db", str, "SQLite store (default crawler.db)"),
    ("--cache-dir", str, "HTTP cache and WARC directory (default cache)"),
    ("--concurrency", int, "requests in flight across hosts (default 16)"),
    ("--per-host", int, "requests in flight per host (default 1)"),
    ("--delay", float, "minimum seconds between request starts to one host (default 1)"),
    ("--user-agent", str, "User-Agent header"),
    ("--max-retries", int, "retries for transient failures (default 3)"),
    ("--retry-after-cap", float, "longest Retry-After obeyed, seconds (default 60)"),
    ("--connect-timeout", float, "seconds (default 10)"),
    ("--read-timeout", float, "seconds (default 20)"),
    ("--total-timeout", float, "seconds per fetch, trickling servers included (default 60)"),
    ("--max-redirects", int, "default 10"),
    ("--max-bytes", int, "body cap per page after decompression (default 5000000)"),
    ("--title-threshold", float, "title score 0-100 that counts as a match (default 85)"),
    ("--dead-runs", int, "consecutive failing runs before dead (default 3)"),
    ("--dead-days", float, "days a failing streak must span before dead (default 3)"),
    ("--fail-on", str, "policy: statuses/health that fail the run (default dead,title_changed,invalid_url)"),
    ("--archive-endpoint", str, "archive lookup API for dead links"),
]
_BOOL_FLAGS = [
    ("--ignore-robots", "skip robots.txt (only for sites you own)"),
    ("--allow-private", "allow loopback/private addresses (tests, intranets)"),
]


def setting_options(f):
    """Every configurable setting as a flag defaulting to None ('not given': env/files decide)."""
    for name, kind, help_ in reversed(_SETTING_FLAGS):
        f = click.option(name, type=kind, default=None, help=help_)(f)
    for name, help_ in reversed(_BOOL_FLAGS):
        f = click.option(name, is_flag=True, default=None, help=help_)(f)
    return f


def _settings(params: dict):
    from crawler.config import OPTIONS, ConfigError, load_settings
    flags = {k: v for k, v in params.items() if k in OPTIONS}
    try:
        return load_settings(flags, os.environ, Path.cwd())
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


class _Registry:
    """The registry streamed row by row: each rejected row is printed as it is read and
    counted, only good citations flow on (the check keeps none of them in memory)."""

    def __init__(self, path: str):
        if not Path(path).is_file():
            raise click.UsageError(f"registry not found: {path} "
                                   f"(create it with `crawler parse ARTICLE -o {path}`)")
        self.path = path
        self.rejected = 0

    def has_citations(self) -> bool:
        """At least one usable row (reads up to the first): checked before the store is locked."""
        from crawler.model import Citation
        from crawler.registry import iter_citations
        return any(isinstance(item, Citation) for item in iter_citations(self.path))

    def __iter__(self):
        from crawler.model import RowError
        from crawler.registry import iter_citations
        for item in iter_citations(self.path):
            if isinstance(item, RowError):
                click.echo(str(item), err=True)
                self.rejected += item.severity == "error"
            else:
                yield item


def _changed_only(citations, base_path: str):
    """Citations added or changed against a base registry (a pull request's view)."""
    from crawler.registry import load_csv
    base = {c.id: c for c in load_csv(base_path)[0]}
    return [c for c in citations if base.get(c.id) != c]


@cli.command()
@click.argument("registry", default="citations.csv")
@setting_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              help="stdout format: a human table, or machine output")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write the output here")
@click.option("--refresh", is_flag=True, help="ignore the HTTP cache (no conditional requests)")
@click.option("--resume", is_flag=True, help="continue the latest unfinished run")
@click.option("--changed-only", "base_registry", type=click.Path(exists=True, dir_okay=False),
              help="check only citations added or changed against this base registry")
@click.option("--archive/--no-archive", default=True, help="WARC snapshots into CACHE_DIR/warc")
@click.option("--archive-all", is_flag=True, help="archive pages that say noarchive too")
@click.option("--lookup-archives/--no-lookup-archives", default=True,
              help="look up archived copies (Memento) for failing citations")
@click.option("--save", is_flag=True,
              help="ask Save Page Now to capture healthy citations (slow, rate limited)")
@click.option("--lock-wait", type=float, default=0.0, show_default=True,
              help="seconds to wait for another check holding the store")
@click.option("--progress/--no-progress", default=None, help="progress bar (default: on a TTY)")
def check(registry, fmt, output, refresh, resume, base_registry, archive, archive_all,
          lookup_archives, save, lock_wait, progress, **params):
    """Fetch every cited URL politely, judge each citation, record the run, apply the policy.

    Exit codes: 0 policy holds, 1 policy violated, 2 usage or input error,
    3 inconclusive (network unreachable: nothing was judged failed),
    130 interrupted.

    \b
    Example:
      crawler check citations.csv --fail-on dead,title_changed
    """
    from crawler.main_job import InputError, run_from_cli
    settings = _settings(params)
    _check_writable(output)
    rows = _Registry(registry)
    if not rows.has_citations():
        for _ in rows:                 # prints every rejected row, naming its line
            pass
        raise InputError(f"{registry}: no usable citation rows")
    citations: Iterable = rows
    if base_registry:
        citations = _changed_only(rows, base_registry)
        click.echo(f"--changed-only: {len(citations)} citation(s) added or changed", err=True)
        if not citations:
            sys.exit(2 if rows.rejected else 0)
    code = run_from_cli(settings, citations, registry=registry, fmt=fmt, output=output,
                        refresh=refresh, resume=resume, archive=archive, archive_all=archive_all,
                        lookup_archives=lookup_archives, save=save, lock_wait=lock_wait,
                        progress=progress)
    if rows.rejected and code in (0, 1):
        click.echo(f"{registry}: {rows.rejected} row(s) rejected and not checked (see above; "
                   f"`crawler validate {registry}`): exit 2", err=True)
        code = 2
    sys.exit(code)


def _check_writable(output: str | None) -> None:
    """Fail before a long run, not after it, when the output cannot be written."""
    if output:
        parent = Path(output).resolve().parent
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise click.BadParameter(f"cannot write {output}: {parent} is not a writable "
                                     f"directory", param_hint="-o/--output")


@cli.command()
@click.option("--db", default=None, help="SQLite store (default crawler.db)")
@click.option("--format", "fmt", type=click.Choice(["html", "md", "json", "junit", "csv"]),
              default="html", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write here (default stdout)")
@click.option("--run", "run_id", type=int, default=None, help="a run id (default the latest)")
@click.option("--fail-on", default=None, help="policy used to mark failures and warnings")
def report(db, fmt, output, run_id, fail_on):
    """Render the citation health report from the store (works while a check runs)."""
    from crawler import store
    from crawler.policy import parse_fail_on
    from crawler.report import write
    from crawler.report_output import ChunkedWriter, output_file
    settings = _settings({"db": db, "fail_on": fail_on})
    _check_writable(output)
    database = _open_existing(settings.db)
    policy = parse_fail_on(settings.fail_on)
    # One snapshot of the store: a running check's new verdicts must not make the counts
    # (walked first) disagree with the citations (walked after, streamed out one by one).
    with store.snapshot(database):
        summary = store.build_summary(database, run_id)
        if summary is None:
            raise click.UsageError(_no_run(database, settings.db, run_id))
        if output:
            with output_file(output) as fh:
                write(summary, fmt, policy, fh)
        else:
            sink = ChunkedWriter(lambda text: click.echo(text, nl=False))
            write(summary, fmt, policy, sink)
            if sink.last != "\n":
                sink.write("\n")
            sink.flush()
    if output:
        click.echo(f"wrote {output}", err=True)


@cli.command()
@click.argument("citation_id")
@click.option("--db", default=None, help="SQLite store (default crawler.db)")
def history(citation_id, db):
    """One citation's timeline over every run: when, status, HTTP code, title score, error."""
    from crawler import store
    from crawler.report import render_timeline
    database = _open_existing(_settings({"db": db}).db)
    citation = store.get_citation(database, citation_id)
    if citation is None:
        raise click.UsageError(f"no citation with id {citation_id!r} in the store")
    rows = [(r["checked_at"], r["status"], r["http_status"] or 0, r["title_score"],
             (r["error"] or "") + (" [run inconclusive: network down]"
                                   if r["run_state"] == "inconclusive" else ""))
            for r in store.timeline(database, citation_id)]
    click.echo(render_timeline(citation, rows))


@cli.command("config")
@setting_options
def config_cmd(**params):
    """Print the effective settings and where each came from.

    Precedence: flags > CRAWLER_* environment > crawler.toml > [tool.crawler] in
    pyproject.toml > defaults.
    """
    from crawler.config import format_settings
    click.echo(format_settings(_settings(params)), nl=False)


@cli.command()
@click.argument("url")
@click.option("--at", "at", default=None, help="date YYYY-MM-DD: the capture closest to it")
@click.option("--db", default=None, help="SQLite store (default crawler.db)")
@click.option("--cache-dir", default=None, help="where the WARC files are if the project moved")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="save the payload here")
def snapshot(url, at, db, cache_dir, output):
    """Print or save an archived snapshot of URL from this project's own WARC files."""
    import datetime as dt
    from crawler.warc_read import read_snapshot
    settings = _settings({"db": db, "cache_dir": cache_dir})
    database = _open_existing(settings.db)
    try:
        when = dt.date.fromisoformat(at) if at else None
    except ValueError:
        raise click.BadParameter(f"not a date: {at!r}", param_hint="--at") from None
    snap = read_snapshot(database, url, when, warc_dir=Path(settings.cache_dir) / "warc")
    if snap is None:
        raise click.ClickException(f"no snapshot of {url} in the store")
    if output:
        Path(output).write_bytes(snap.payload)
        click.echo(f"saved {len(snap.payload)} bytes to {output}", err=True)
    else:
        sys.stdout.buffer.write(snap.payload)


@cli.command()
@click.option("--db", default=None, help="SQLite store (default crawler.db)")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write here (default stdout)")
def suggest(db, output):
    """Write the footnote list back with fixes: moved URLs updated, dead ones archived or
    marked, invalid URLs and redirects to another article marked for review."""
    from crawler import store
    from crawler.memento import known_archives
    from crawler.suggest import suggest as make_suggestions
    database = _open_existing(_settings({"db": db}).db)
    summary = store.build_summary(database)
    if summary is None:
        raise click.UsageError("no run recorded yet; run `crawler check` first")
    rows = list(summary.rows)          # one read: a running check may add rows meanwhile
    citations = [r.citation for r in rows]
    verdicts = {r.citation.id: r.verdict for r in rows}
    _emit("\n".join(make_suggestions(citations, verdicts, known_archives(database))) + "\n", output)


@cli.command()
@click.argument("article", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write the CSV here (default stdout)")
@click.option("--strict", is_flag=True, help="exit 2 when any footnote lacks a field")
def parse(article, output, strict):
    """Read an article's footnotes (plain text, HTML or Markdown) into a citations CSV.

    Footnotes missing a field are still written, and reported on stderr by number;
    --strict makes that exit 2 (input error).

    \b
    Example:
      crawler parse article.txt -o citations.csv
    """
    from crawler.registry import parse_article, write_csv
    citations, problems = parse_article(Path(article).read_bytes(), Path(article).name)
    for problem in problems:
        click.echo(str(problem), err=True)
    if not citations:
        sys.exit(2)
    _write_registry(citations, write_csv, output)
    click.echo(f"{len(citations)} footnotes, {len(problems)} incomplete", err=True)
    if strict and problems:
        sys.exit(2)


def _write_registry(citations, write_csv, output: str | None) -> None:
    """To a temporary file renamed into place, so a failed write never leaves half a registry."""
    import io
    buffer = io.StringIO()
    write_csv(citations, buffer)
    if not output:
        sys.stdout.flush()
        sys.stdout.buffer.write(buffer.getvalue().encode("utf-8"))
        return
    tmp = Path(output).with_name(Path(output).name + ".tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    os.replace(tmp, output)


@cli.command()
@click.argument("registry", default="citations.csv")
def validate(registry):
    """Check a citations CSV: URLs, dates, duplicate ids, CSV shape; exit 2 on any error.

    Messages name the row (line) and column; notes (a URL cited twice) do not change the
    exit code. The last line sums up citations, unique URLs, hosts, errors and notes.
    """
    from crawler.registry import validate_stats
    if not Path(registry).is_file():
        raise click.UsageError(f"registry not found: {registry}")
    problems, stats = validate_stats(registry)
    for problem in problems:
        click.echo(str(problem), err=True)
    click.echo(str(stats), err=True)
    sys.exit(2 if stats.errors else 0)


def _no_run(database, path: str, run_id: int | None) -> str:
    from crawler import store
    if run_id is not None:
        return f"{path}: no run {run_id}"
    latest = store.latest_run(database)
    if latest is not None and latest.state == "inconclusive":
        return (f"{path}: the latest run ({latest.id}) was inconclusive (network unreachable) "
                f"and there is no conclusive run to report; `crawler report --run "
                f"{latest.id}` shows it anyway")
    return f"{path}: no run recorded yet; run `crawler check` first"


def _open_existing(path: str):
    from crawler import store
    if not Path(path).is_file():
        raise click.UsageError(f"store not found: {path} (run `crawler check` first)")
    return store.open_db(path)


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def main() -> None:
    """Entry point: a store that is not SQLite or an unwritable file is an error line, exit 2."""
    import sqlite3
    try:
        cli()
    except sqlite3.DatabaseError as exc:
        click.echo(f"Error: the store is not a usable crawler database: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
