"""`crawler check` end to end: lock the store, run the check, look up archives, apply the policy.

Kept out of cli.py so the CLI stays a thin layer of options; kept out of
check.py so the library's check loop stays free of output and exit codes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
import os
import signal
from pathlib import Path
from typing import Any, Iterable, Mapping

import click
import httpx

from crawler import console, memento, save_page_now, store
from crawler.check import CheckOptions, EmptyRegistry, run_check
from crawler.fetch import FetchConfig
from crawler.lock import StoreLocked, WriterLock
from crawler.model import Citation, Summary
from crawler.policy import EXIT_INCONCLUSIVE, parse_fail_on
from crawler.report import write
from crawler.report_output import ChunkedWriter, output_file
from crawler.report_records import make_digest

EXIT_INTERRUPTED = 130


class InputError(click.ClickException):
    """An unusable input or store (not a verdict about citations): exit 2."""

    exit_code = 2


def fetch_config(s: Mapping[str, Any], refresh: bool = False) -> FetchConfig:
    return FetchConfig(
        concurrency=s["concurrency"], per_host=s["per_host"], delay=s["delay"],
        user_agent=s["user_agent"], respect_robots=not s["ignore_robots"],
        max_retries=s["max_retries"], retry_after_cap=s["retry_after_cap"],
        connect_timeout=s["connect_timeout"], read_timeout=s["read_timeout"],
        total_timeout=s["total_timeout"], max_redirects=s["max_redirects"],
        max_bytes=s["max_bytes"], allow_private=s["allow_private"],
        cache_dir=Path(s["cache_dir"]) / "http", refresh=refresh)


def check_options(s: Mapping[str, Any], *, refresh: bool, resume: bool, archive: bool,
                  archive_all: bool) -> CheckOptions:
    return CheckOptions(fetch=fetch_config(s, refresh), title_threshold=s["title_threshold"],
                        dead_runs=s["dead_runs"], dead_days=s["dead_days"], resume=resume,
                        archive_dir=str(Path(s["cache_dir"]) / "warc") if archive else None,
                        archive_all=archive_all)


def run_from_cli(s: Mapping[str, Any], citations: Iterable[Citation], *, registry: str, fmt: str,
                 output: str | None, refresh: bool, resume: bool, archive: bool,
                 archive_all: bool, lookup_archives: bool, lock_wait: float, save: bool,
                 progress: bool | None) -> int:
    fail_on = parse_fail_on(s["fail_on"])
    opts = check_options(s, refresh=refresh, resume=resume, archive=archive, archive_all=archive_all)
    try:
        lock = WriterLock(s["db"], wait=lock_wait)
        lock.acquire()
    except StoreLocked as exc:
        raise InputError(str(exc)) from None
    try:
        db = store.open_db(s["db"])
        if store.is_read_only(db):
            raise InputError(f"{s['db']}: the store is read-only; `crawler check` "
                             f"records every run there")
        bar = console.Progress(bar=progress)
        try:
            outcome = asyncio.run(_run(db, citations, opts, registry, dict(s), bar))
        except EmptyRegistry:
            raise InputError(f"{registry}: no usable citation rows") from None
        except KeyboardInterrupt:
            click.echo("interrupted: finished results are kept; rerun with --resume", err=True)
            return EXIT_INTERRUPTED
        finally:
            bar.close()
        for line in outcome.archive_errors:
            click.echo(f"warning: {line}", err=True)
        if outcome.state == "inconclusive":
            click.echo(console.inconclusive_line(outcome.urls), err=True)
            return EXIT_INCONCLUSIVE
        if lookup_archives or save:
            try:
                asyncio.run(_archives(db, outcome.run_id, s, lookup=lookup_archives, save=save))
            except KeyboardInterrupt:
                click.echo("interrupted during archive lookup: the run's results are kept",
                           err=True)
                return EXIT_INTERRUPTED
        summary = store.build_summary(db, outcome.run_id)
        assert summary is not None
        return _finish(summary, fail_on, fmt, output)
    finally:
        lock.release()


async def _run(db, citations, opts, registry, settings, bar):
    """Run the check; SIGTERM is turned into a cancellation so the run is marked interrupted."""
    task = asyncio.ensure_future(run_check(db, citations, opts, registry=registry,
                                           settings=settings, progress=bar,
                                           on_begin=bar.start))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _archives(db, run_id: int, s: Mapping[str, Any], *, lookup: bool, save: bool) -> None:
    """Archived copies for failing citations, and optionally fresh captures of healthy ones.

    An unreachable archive is a note on stderr, never a failure of the run. The run's rows
    are walked from the store, not held: only the failing ones are kept (the lookup writes
    to the store between them); healthy ones stream to Save Page Now only with --save.
    """
    rows = store.StoredRows(db, run_id)
    endpoint = s["archive_endpoint"]
    kind = next((k for k, url in memento.DEFAULT_ENDPOINTS.items() if url == endpoint),
                "availability" if "available" in endpoint else "cdx")
    async with httpx.AsyncClient(timeout=20, headers={"User-Agent": s["user_agent"]}) as client:
        if lookup:
            failing = [(r.citation, r.verdict) for r in rows if memento.needs_archive(r.verdict)]
            if failing:
                found = await memento.lookup_failing(db, failing, client, endpoint=endpoint,
                                                     kind=kind, user_agent=s["user_agent"])
                click.echo(f"archive lookup: {len(found)} of {len(failing)} failing "
                           f"citation(s) have an archived copy", err=True)
        if save:
            healthy = ((r.citation, r.verdict) for r in rows if r.verdict.status.is_ok)
            saved = await save_page_now.save_healthy(client, healthy, user_agent=s["user_agent"])
            if saved:
                counts = Counter(x.status.value for x in saved)
                click.echo("save page now: " + ", ".join(f"{k} {n}" for k, n in counts.items()),
                           err=True)


def _finish(summary: Summary, fail_on, fmt: str, output: str | None) -> int:
    """The end of a run: the output, the job summary, the hints, the exit code.

    One walk over the rows gives the policy, counts and hints (the digest); each output is
    then written citation by citation, so memory stays flat at 100,000 citations.
    """
    digest = make_digest(summary, fail_on)
    result = digest.result

    def output_to(fh, styled: bool) -> None:
        if fmt != "table":
            write(summary, fmt, fail_on, fh, digest)
            return
        for i, line in enumerate(console.table_lines(summary)):     # lines joined by \n
            fh.write(("\n" if i else "") + (line if styled else click.unstyle(line)))

    if output:
        with output_file(output) as fh:
            output_to(fh, styled=False)
    else:               # click.echo keeps the table's colours only on a terminal
        sink = ChunkedWriter(lambda text: click.echo(text, nl=False))
        output_to(sink, styled=True)
        sink.write("\n")
        sink.flush()
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as fh:
            write(summary, "md", fail_on, fh, digest)
            fh.write("\n")
    for line in digest.hints:
        click.echo(f"hint: {line}", err=True)
    click.echo(f"{len(result.failures)} failing under --fail-on {fail_on}, "
               f"{len(result.warnings)} warning(s), {len(result.inconclusive)} could not check "
               f"(run {summary.run.id})", err=True)
    return result.exit_code
