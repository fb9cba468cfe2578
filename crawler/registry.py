"""citations.csv in and out, and its validation; re-exports the article parser.

Why streaming: a registry can hold 100,000 rows, so rows are read one at a time and a bad
row becomes a RowError beside the good ones (never an exception): one typo must not stop
a whole check. Row numbers are the file's line numbers, so an editor can jump to them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlsplit

from crawler.footnotes import parse_article
from crawler.model import Citation, RowError
from crawler.urls import host_key, normalise

__all__ = ["AUTHOR_SEPARATOR", "COLUMNS", "Stats", "iter_citations", "iter_csv", "iter_rows", "load_csv", "parse_article",
           "url_problem", "validate", "validate_stats", "write_csv"]

COLUMNS = ("id", "authors", "title", "outlet", "published", "url", "accessed", "lang", "raw")
AUTHOR_SEPARATOR = "; "
REQUIRED_COLUMNS = ("id", "url")       # without these a row cannot be checked at all
FIELD_LIMIT = 1_000_000                # one cell; csv's default 128 KiB is too small for raw text


def _row(c: Citation) -> list[str]:
    return [c.id, AUTHOR_SEPARATOR.join(c.authors), c.title, c.outlet, c.published, c.url,
            c.accessed, c.lang, c.raw]


def write_csv(citations: Iterable[Citation], fileobj: IO[str]) -> int:
    """Header plus one row per citation, '\\n' line ends (stable diffs); returns rows written."""
    writer = csv.writer(fileobj, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for c in citations:
        writer.writerow(_row(c))
        count += 1
    return count


# -- reading -------------------------------------------------------------------------------


class _Lines:
    """Decodes a binary file line by line, remembering which physical lines were not UTF-8."""

    def __init__(self, fh: IO[bytes], skip: int = 0) -> None:
        self.fh, self.number, self.skip = fh, 0, skip
        self.bad: list[tuple[int, int]] = []

    def __iter__(self) -> Iterator[str]:
        for raw in self.fh:
            self.number += 1
            if self.number <= self.skip:
                continue
            if self.number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad.append((self.number, exc.start))
                yield raw.decode("utf-8", "replace")


def _split_authors(cell: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in cell.split(";") if a.strip())


def _citation(record: dict[str, str]) -> Citation:
    def get(name: str) -> str:
        return record.get(name, "") or ""              # a missing column reads as ''
    return Citation(id=get("id").strip(), authors=_split_authors(get("authors")), title=get("title"),
                    outlet=get("outlet"), published=get("published").strip(), url=get("url"),
                    accessed=get("accessed").strip(), lang=get("lang").strip(), raw=get("raw"))


def _header_errors(source: str, header: list[str]) -> list[RowError]:
    missing = [name for name in COLUMNS if name not in header]
    errors = [RowError(source, 1, f"missing column(s) {', '.join(missing)} (the header must be "
                       f"{','.join(COLUMNS)})", ", ".join(missing))] if missing else []
    errors += [RowError(source, 1, f"unknown column {name!r}", name, "note")
               for name in header if name not in COLUMNS]
    return errors


def iter_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, Citation | RowError]]:
    """(line, Citation or RowError) per record, streaming; never raises on bad content.

    An unclosed quote swallows the rest of the file into one cell; the rows after it are
    read again from the next line, so one stray quote costs one row, not the registry.
    """
    source = os.fspath(path)
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    state = _Read(source)
    try:
        while state.resume:
            with open(source, "rb") as fh:
                yield from state.read(fh)
    except OSError as exc:
        yield 0, RowError(source, 0, f"cannot read the registry: {exc.strerror or exc}")
        return
    if state.header is None:
        yield 0, RowError(source, 0, "empty registry: no header row (" + ",".join(COLUMNS) + ")")


class _Read:
    """One pass over the file from line `resume`; sets `resume` again after an unclosed quote."""

    def __init__(self, name: str) -> None:
        self.name, self.resume, self.usable = name, 1, True
        self.header: list[str] | None = None

    def read(self, fh: IO[bytes]) -> Iterator[tuple[int, Citation | RowError]]:
        lines = _Lines(fh, skip=self.resume - 1)
        reader, self.resume = csv.reader(lines, strict=True), 0
        while True:
            start = lines.number + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, RowError(self.name, start, f"malformed CSV: {exc}")
                if "end of data" in str(exc):          # an unclosed quote: read on after it
                    self.resume = start + 1
                    return
                continue
            yield from self._cells(start, cells, lines)
            if not self.usable:
                return

    def _cells(self, start: int, cells: list[str], lines: _Lines) -> Iterator[tuple[int, Citation | RowError]]:
        if not cells:
            return
        if self.header is not None:
            yield start, _record(self.name, start, self.header, cells, lines)
            return
        self.header = [c.strip() for c in cells]
        yield from ((1, err) for err in _header_errors(self.name, self.header))
        self.usable = all(c in self.header for c in REQUIRED_COLUMNS)


def _record(name: str, line: int, header: list[str], cells: list[str], lines: _Lines) -> Citation | RowError:
    bad = [b for b in lines.bad if b[0] >= line]
    lines.bad.clear()
    if bad:
        return RowError(name, line, f"not UTF-8 (byte {bad[0][1] + 1} of line {bad[0][0]})",
                        _bad_column(header, cells))
    if len(cells) != len(header):
        return RowError(name, line, f"{len(cells)} fields, the header has {len(header)}")
    citation = _citation(dict(zip(header, cells)))
    if not citation.id:
        return RowError(name, line, "missing id", "id")
    return citation


def _bad_column(header: list[str], cells: list[str]) -> str:
    return next((h for h, c in zip(header, cells) if "\ufffd" in c), "")


def iter_csv(path: str | os.PathLike[str]) -> Iterator[Citation | RowError]:
    """The registry row by row (bounded memory): a Citation per good row, a RowError per bad one."""
    for _, item in iter_rows(path):
        yield item


def iter_citations(path: str | os.PathLike[str]) -> Iterator[Citation | RowError]:
    """Good rows and problems in file order, streaming; a repeated id is a RowError.

    The first row of an id wins (the store keys on id). What a 100,000-row check reads:
    only the ids seen so far are kept, never the citations themselves.
    """
    seen: dict[str, int] = {}
    for line, item in iter_rows(path):
        if isinstance(item, RowError):
            yield item
        elif item.id in seen:
            yield _duplicate(os.fspath(path), line, item.id, seen[item.id])
        else:
            seen[item.id] = line
            yield item


def load_csv(path: str | os.PathLike[str]) -> tuple[list[Citation], list[RowError]]:
    """Good rows and the problems, in memory (iter_citations streams the same)."""
    citations: list[Citation] = []
    errors: list[RowError] = []
    for item in iter_citations(path):
        (errors if isinstance(item, RowError) else citations).append(item)  # type: ignore[arg-type]
    return citations, errors


def _duplicate(source: str, line: int, cid: str, first: int) -> RowError:
    return RowError(source, line, f"duplicate id {cid!r} (first on line {first})", "id")


# -- validation ----------------------------------------------------------------------------

_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$")
_REDUCED_DATE = re.compile(r"^\d{4}(?:-\d{2})?$")      # a year or a month: what some citations give
_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


def url_problem(url: str) -> str:
    """Why a URL cannot be fetched as cited ('' when it can): scheme, whitespace, host, port."""
    if not url:
        return "missing URL"
    if url != url.strip() or re.search(r"\s", url):
        return f"URL contains whitespace: {url!r}"
    if re.search(r'[<>"\x00-\x1f\x7f]', url):
        return f"URL contains a character that must be percent-encoded (<, >, \" or a control): {url!r}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"unparseable URL {url!r}: {exc}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"not an http(s) URL: {url!r}"
    return _host_problem(parts.hostname or "", url) or ("" if port != 0 else f"port 0 in {url!r}")


def _host_problem(host: str, url: str) -> str:
    if not host:
        return f"no host in URL {url!r}"
    if host.startswith("[") or re.fullmatch(r"[0-9a-f:.]+", host) and ":" in host:
        return ""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return f"unparseable host {host!r} in URL"
    return "" if _HOST.match(ascii_host.lower()) else f"unparseable host {host!r} in URL"


def _as_date(value: str, upper: bool = False) -> dt.date | None:
    """ISO date; a bare year or month counts as its first day (last day when upper)."""
    if _REDUCED_DATE.match(value):
        year, month = int(value[:4]), int(value[5:7] or (12 if upper else 1))
        last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
        return dt.date(year, month, last if upper else 1)
    try:
        return dt.date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
    except ValueError:
        return None


def _date_errors(src: str, line: int, c: Citation, today: dt.date) -> Iterator[RowError]:
    for column in ("published", "accessed"):
        value = getattr(c, column)
        if value and _as_date(value) is None:
            yield RowError(src, line, f"unparseable date {value!r} (want YYYY-MM-DD)", column)
        elif value and (_as_date(value) or today) > today:
            yield RowError(src, line, f"{column} date {value} is in the future (today {today})", column)
    published, accessed = _as_date(c.published, upper=False), _as_date(c.accessed, upper=True)
    if published and accessed and accessed < published:
        yield RowError(src, line, f"accessed {c.accessed} before published {c.published}", "accessed")


def _row_errors(src: str, line: int, c: Citation, today: dt.date) -> Iterator[RowError]:
    problem = url_problem(c.url)
    if problem:
        yield RowError(src, line, problem, "url")
    yield from _date_errors(src, line, c, today)
    if c.lang and not _LANG.match(c.lang):
        yield RowError(src, line, f"language {c.lang!r} is not a language tag like 'ja' or 'en'", "lang")


@dataclass
class Stats:
    """The one-line summary of a registry: what `crawler validate` prints last."""

    citations: int = 0
    urls: int = 0
    hosts: int = 0
    errors: int = 0
    notes: int = 0

    def __str__(self) -> str:
        return (f"{_n(self.citations, 'citation')}, {_n(self.urls, 'unique URL')} over "
                f"{_n(self.hosts, 'host')}, {_n(self.errors, 'error')}, {_n(self.notes, 'note')}")


def _n(count: int, noun: str) -> str:
    """'1 host', '0 hosts', '2 hosts': the summary line reads as English."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _latest_today() -> dt.date:
    """The date somewhere on Earth now (UTC+14): an access date typed in Tokyo is not future."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=14)).date()


def _numbered(rows: Iterable[Citation | RowError]) -> Iterator[tuple[int, Citation | RowError]]:
    """Rows given in memory: numbered as the lines they would be under a header."""
    for i, item in enumerate(rows, 2):
        yield (item.line or i if isinstance(item, RowError) else i), item


def validate_stats(path_or_rows: str | os.PathLike[str] | Iterable[Citation | RowError],
                   today: dt.date | None = None) -> tuple[list[RowError], Stats]:
    """Every problem (errors and notes, in file order) and the registry's summary counts."""
    if isinstance(path_or_rows, (str, os.PathLike)):
        source, rows = os.fspath(path_or_rows), iter_rows(path_or_rows)
    else:
        source, rows = "<rows>", _numbered(path_or_rows)
    problems = list(_check(source, rows, today or _latest_today(), stats := Stats()))
    stats.errors = sum(p.severity == "error" for p in problems)
    stats.notes = len(problems) - stats.errors
    return problems, stats


def _check(src: str, rows: Iterable[tuple[int, Citation | RowError]], today: dt.date,
           stats: Stats) -> Iterator[RowError]:
    ids: dict[str, int] = {}
    urls: dict[str, tuple[str, int]] = {}
    hosts: set[str] = set()
    for line, item in rows:
        if isinstance(item, RowError):
            yield item
            continue
        stats.citations += 1
        if item.id in ids:
            yield _duplicate(src, line, item.id, ids[item.id])
        ids.setdefault(item.id, line)
        yield from _row_errors(src, line, item, today)
        yield from _url_note(src, line, item, urls, hosts)
    stats.urls, stats.hosts = len(urls), len(hosts)


def _url_note(src: str, line: int, c: Citation, urls: dict[str, tuple[str, int]],
              hosts: set[str]) -> Iterator[RowError]:
    """A URL cited twice is legitimate (two footnotes, one source), but worth a look."""
    if url_problem(c.url):
        return
    key = normalise(c.url)
    hosts.add(host_key(c.url))
    if key in urls:
        first_id, first_line = urls[key]
        yield RowError(src, line, f"URL also cited by id {first_id} (line {first_line})", "url", "note")
    else:
        urls[key] = (c.id, line)


def validate(path_or_rows: str | os.PathLike[str] | Iterable[Citation | RowError],
             today: dt.date | None = None) -> list[RowError]:
    """Errors and notes for a registry file or rows; `today` bounds access dates (default: now)."""
    return validate_stats(path_or_rows, today)[0]
