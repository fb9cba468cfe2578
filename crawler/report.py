"""Summary -> html / md / json / junit / csv, one function per format, plus a terminal timeline.

Everything a page gave us (title, final URL, error text) is hostile input: each format escapes
it in its own way (Jinja autoescape for HTML, backslashes and entities in Markdown cells,
\\u003c in JSON, ElementTree plus control-character stripping in JUnit, a leading quote
against spreadsheet formulas in CSV). Links are only ever emitted for http(s) URLs.

JUnit mapping (one <testcase> per citation): a policy failure is <failure>; a citation we could
not check (blocked, paywalled, robots_disallowed, timeout, too_large) is <skipped> with the
reason; a warning (bad, but not fatal under the policy, e.g. one bad night) passes with a
"WARNING: ..." line in <system-out>, so CI shows it without failing the build.

Vocabulary. Every human format (HTML, Markdown, the CLI) calls a citation whose page we could
not judge this run (`Status.is_inconclusive`) "could not check", and a policy outcome "fails",
"warning" or "could not check". The JSON, CSV and JUnit keep their stable machine names for
the same things: a citation's `"outcome"` is `"fail"`, `"warn"`, `"skip"` (= could not check)
or `"ok"`, and `run.policy.inconclusive` counts the citations we could not check. A *run* is
"inconclusive" (state `inconclusive`, exit code 3) only when no host answered at all.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import io
import itertools
import json
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import quote, urlsplit

import jinja2
from markupsafe import Markup

from crawler.chart import GROUPS, group_members, group_of, trend_svg, when
from crawler.model import Citation, Row, Rows, RunInfo, Summary
from crawler.policy import DEFAULT, Evaluator, FailOn, HintFinder, PolicyResult

FORMATS = ("html", "md", "json", "junit", "csv")
# A policy outcome as the human formats name it (JSON/CSV keep the keys on the left).
OUTCOME_LABELS = {"fail": "fails", "warn": "warning", "skip": "could not check", "ok": "ok"}
# Statuses where we read the cited page itself: only there do a title score and dates mean
# anything (on a 404 or 500 page they score the error page).
PAGE_SEEN = frozenset({"ok", "redirected", "paywalled"})
MD_MAX_ROWS = 500        # GitHub caps a job summary at 1 MiB; the full table is in the HTML
SCHEMA_VERSION = 1


class Writable(Protocol):
    """Where `write` puts a report: a text file, io.StringIO, a ChunkedWriter."""

    def write(self, text: str, /) -> Any: ...


def render(summary: Summary, fmt: str, fail_on: FailOn = DEFAULT) -> str:
    """Render `summary` in one of FORMATS; `fail_on` decides what counts as failure vs warning.

    The whole report as one string: fine for a small run; `write` streams a big one."""
    out = io.StringIO()
    write(summary, fmt, fail_on, out)
    return out.getvalue()


def write(summary: Summary, fmt: str, fail_on: FailOn, fh: Writable,
          digest: Digest | None = None) -> Digest:
    """Write `summary` in one of FORMATS to `fh` (any object with .write(str)), piece by piece.

    One citation is held at a time (plus the policy's id and reason for each one that is not
    ok): the rows are walked twice, the digest first, since every format's header counts
    what follows, then each citation is written as it comes. Pass a `digest` already made
    for this summary and policy to save a walk. Returns the digest (policy, counts, hints).
    """
    writers = {"html": write_html, "md": write_markdown, "json": write_json,
               "junit": write_junit, "csv": write_csv}
    if fmt not in writers:
        raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")
    d = digest if digest is not None else make_digest(summary, fail_on)
    writers[fmt](summary, fail_on, fh, d)
    return d


@dataclass(frozen=True, slots=True)
class Digest:
    """What one walk over the rows knows, and every format needs before its first citation
    (the JUnit header counts failures, the HTML cards count statuses): the policy's result,
    the per-status and per-health counts (first-seen order) and the hints."""

    result: PolicyResult
    citations: int
    status_counts: dict[str, int]
    health_counts: dict[str, int]
    hints: list[str]


def make_digest(summary: Summary, fail_on: FailOn = DEFAULT) -> Digest:
    """The policy, the counts and the hints in a single walk over `summary.rows`."""
    policy, finder = Evaluator(summary, fail_on), HintFinder()
    status: Counter[str] = Counter()
    health: Counter[str] = Counter()
    n = 0
    for row in summary.rows:
        n += 1
        policy.add(row)
        finder.add(row)
        status[row.verdict.status.value] += 1
        health[row.verdict.health.value] += 1
    return Digest(policy.result(), n, dict(status), dict(health), finder.lines(summary.hints))


class ChunkedWriter:
    """Gathers small writes into blocks of about `size` characters for `emit` (click.echo to
    stdout, say), so streaming a report costs one call per block, not one per citation."""

    def __init__(self, emit: Callable[[str], Any], size: int = 1 << 16):
        self.emit, self.size = emit, size
        self.parts: list[str] = []
        self.pending = 0
        self.last = ""                  # the last character written, "" before any

    def write(self, text: str) -> int:
        if text:
            self.parts.append(text)
            self.pending += len(text)
            self.last = text[-1]
            if self.pending >= self.size:
                self.flush()
        return len(text)

    def flush(self) -> None:
        if self.parts:
            self.emit("".join(self.parts))
            self.parts.clear()
            self.pending = 0


@contextlib.contextmanager
def output_file(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """A report file written in place of `path` only when complete: through a temporary file
    renamed at the end, so a failed or interrupted render never leaves half a report where
    the last whole one was. Not a regular file (/dev/stdout, a FIFO) or a symlink: written
    as it is."""
    target = Path(path)
    if target.is_symlink() or (target.exists() and not target.is_file()):
        with open(target, "w", encoding="utf-8") as fh:
            yield fh
        return
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            yield fh
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


# --- the shared record: JSON's citation object, flattened for CSV, fed to the templates ---

def citation_record(row: Row, result: PolicyResult) -> dict[str, Any]:
    """One citation as the JSON report's object (field names follow Verdict)."""
    v, c = row.verdict, row.citation
    return {
        "id": c.id, "url": v.url or c.url, "final_url": v.final_url,
        "status": v.status.value, "http_status": v.http_status,
        "redirects": [{"url": h.url, "status_code": h.status_code} for h in v.redirects],
        "page_title": v.page_title, "title_score": v.title_score, "title_match": v.title_match,
        "published_found": v.published_found, "modified_found": v.modified_found,
        "date_verdict": v.date_verdict.value, "drift": v.drift, "health": v.health.value,
        "attempts": v.attempts, "elapsed_ms": v.elapsed_ms, "error": v.error,
        "url_status": v.url_status, "failing_since": row.failing_since,
        "checked_at": v.checked_at,
        "archive": {"url": row.archive_url, "date": row.archive_date} if row.archive_url else None,
        "citation": {"authors": list(c.authors), "title": c.title, "outlet": c.outlet,
                     "published": c.published, "accessed": c.accessed, "lang": c.lang},
        "outcome": result.outcome(c.id), "reason": _reason(result, c.id),
    }


def _reason(result: PolicyResult, cid: str) -> str:
    return result.reason(cid)


def run_record(summary: Summary, result: PolicyResult, fail_on: FailOn,
               digest: Digest | None = None) -> dict[str, Any]:
    """The top-level run summary every format shows: counts, duration, changes, policy.

    The counts come from `digest` when given, else from one walk over the rows."""
    run = summary.run
    d = digest if digest is not None else make_digest(summary, fail_on)
    return {
        "id": run.id, "started_at": run.started_at, "finished_at": run.finished_at,
        "state": run.state, "duration_s": duration_s(run.started_at, run.finished_at),
        "citations": d.citations,
        "status_counts": dict(d.status_counts), "health_counts": dict(d.health_counts),
        "newly_failing": list(summary.newly_failing), "recovered": list(summary.recovered),
        "policy": {"fail_on": str(fail_on), "exit_code": result.exit_code,
                   "failures": len(result.failures), "warnings": len(result.warnings),
                   "inconclusive": len(result.inconclusive)},
    }


class Records:
    """The citation records (`citation_record`) of a summary, made one at a time on each
    walk: what the templates loop over. Sized from the digest's counts; `kinds` keeps only
    those outcomes, in that order (the problems list: fails, then warnings, then could not
    check, each in citation order). records[:n] makes just the first n."""

    def __init__(self, rows: Rows, result: PolicyResult, total: int,
                 kinds: tuple[str, ...] | None = None):
        self.rows, self.result, self.kinds = rows, result, kinds
        self.counts = {"fail": len(result.failures), "warn": len(result.warnings),
                       "skip": len(result.inconclusive)}
        self.total = total if kinds is None else sum(self.counts[k] for k in kinds)

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return self.total > 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.kinds is None:
            for row in self.rows:
                yield citation_record(row, self.result)
            return
        outcome = self.result.outcome
        for kind in self.kinds:
            if self.counts[kind]:               # a kind with none: no walk for it
                for row in self.rows:
                    if outcome(row.citation.id) == kind:
                        yield citation_record(row, self.result)

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        if not isinstance(index, slice) or (index.start or 0) < 0 or (
                index.stop is not None and index.stop < 0):
            return list(self)[index]
        return list(itertools.islice(self, index.start, index.stop, index.step))


def all_runs(summary: Summary) -> list[RunInfo]:
    """History plus the latest run, oldest first, each once (whether or not history has it)."""
    return [r for r in summary.history if r.id != summary.run.id] + [summary.run]


def human_duration(seconds: float | None) -> str:
    """210.0 -> '3 min 30 s', 42.4 -> '42 s', 7300 -> '2 h 1 min'."""
    if seconds is None or seconds < 0:
        return ""
    total = round(seconds)
    if total < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{total} s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def duration_s(started: str, finished: str) -> float | None:
    try:
        delta = dt.datetime.fromisoformat(finished) - dt.datetime.fromisoformat(started)
    except (TypeError, ValueError):
        return None
    return round(delta.total_seconds(), 1)


# --- JSON ---

def report_schema() -> dict[str, Any]:
    """The published JSON Schema of render_json's output (crawler/schema/report.schema.json)."""
    text = resources.files("crawler").joinpath("schema/report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def render_json(summary: Summary, fail_on: FailOn = DEFAULT) -> str:
    """The whole report as one JSON document; <, > and & are \\u-escaped so it embeds safely."""
    return render(summary, "json", fail_on)


def _json_safe(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def write_json(summary: Summary, fail_on: FailOn, fh: Writable, d: Digest) -> None:
    """render_json's document, byte for byte, with the citations array written one element at
    a time (`json.dumps(doc, indent=2)` would need every record at once)."""
    result = d.result
    head = json.dumps({
        "schema_version": SCHEMA_VERSION,
        "run": run_record(summary, result, fail_on, d),
        "history": [{"id": r.id, "started_at": r.started_at, "state": r.state,
                     "counts": dict(r.counts)} for r in all_runs(summary)],
        "hints": d.hints,
    }, ensure_ascii=False, indent=2)
    assert head.endswith("\n}")
    fh.write(_json_safe(head[:-2]) + ',\n  "citations": [')
    sep = "\n    "                    # an element of the array at depth 2, as indent=2 puts it
    for row in summary.rows:
        record = json.dumps(citation_record(row, result), ensure_ascii=False, indent=2)
        fh.write(sep + _json_safe(record.replace("\n", "\n    ")))   # strings hold no raw \n
        sep = ",\n    "
    fh.write("]\n}\n" if sep == "\n    " else "\n  ]\n}\n")


# --- CSV ---

CSV_FIELDS = ("id", "outlet", "title", "url", "final_url", "status", "http_status",
              "redirects", "page_title", "title_score", "title_match", "published_found",
              "modified_found", "date_verdict", "drift", "health", "failing_since",
              "url_status", "attempts", "elapsed_ms", "error", "archive_url", "archive_date",
              "outcome", "reason", "checked_at")


def _csv_cell(value: Any) -> Any:
    """Defuse spreadsheet formulas: a page title '=HYPERLINK(...)' must stay text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def render_csv(summary: Summary, fail_on: FailOn = DEFAULT) -> str:
    """One row per citation, the JSON object flattened (redirects as a hop count)."""
    return render(summary, "csv", fail_on)


def write_csv(summary: Summary, fail_on: FailOn, fh: Writable, d: Digest) -> None:
    writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in summary.rows:
        rec = citation_record(row, d.result)
        rec.update(rec.pop("citation"), id=rec["id"], url=rec["url"],
                   redirects=len(rec["redirects"]), archive_url=row.archive_url,
                   archive_date=row.archive_date)
        writer.writerow({k: _csv_cell(rec.get(k)) for k in CSV_FIELDS})


# --- JUnit XML ---

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: Any) -> str:
    """XML 1.0 cannot carry most control characters at all, escaped or not: drop them."""
    return _XML_BAD.sub("\ufffd", str(text))


def render_junit(summary: Summary, fail_on: FailOn = DEFAULT) -> str:
    """One <testcase> per citation; see the module docstring for the mapping."""
    return render(summary, "junit", fail_on)


_SPLIT = "crawler-testcases-go-here"


def write_junit(summary: Summary, fail_on: FailOn, fh: Writable, d: Digest) -> None:
    """The document ElementTree would write for the whole tree (ET.indent, 2 spaces), byte for
    byte, with each <testcase> serialised as it comes: the skeleton is serialised around a
    marker testcase, and each real one is indented at its depth and written in its place."""
    result = d.result
    run = run_record(summary, result, fail_on, d)
    suites = ET.Element("testsuites", name="crawler", tests=str(d.citations),
                        failures=str(len(result.failures)), errors="0")
    suite = ET.SubElement(suites, "testsuite", {
        "name": "citations", "tests": str(d.citations),
        "failures": str(len(result.failures)), "errors": "0",
        "skipped": str(len(result.inconclusive)), "time": str(run["duration_s"] or 0),
        "timestamp": _x(summary.run.started_at)})
    props = ET.SubElement(suite, "properties")
    for name in ("id", "state"):
        ET.SubElement(props, "property", name=f"run.{name}", value=_x(run[name]))
    ET.SubElement(props, "property", name="fail_on", value=str(fail_on))
    ET.SubElement(suite, "testcase", name=_SPLIT)
    ET.indent(suites)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"
    head, tail = text.split(f'<testcase name="{_SPLIT}" />')
    indent = "\n    "                 # a testcase's depth: testsuites > testsuite > testcase
    assert head.endswith(indent)
    fh.write(head[:-len(indent)])
    for row in summary.rows:
        fh.write(indent + ET.tostring(_indented(_testcase(row, result)), "unicode"))
    fh.write(tail)


def _indented(case: ET.Element) -> ET.Element:
    """What ET.indent does to a testcase at depth 2 of the tree (its children hold only text),
    without ET.indent's self-referencing closure: no garbage cycle per citation."""
    case.text = "\n      "
    for child in case:
        child.tail = "\n      "
    child.tail = "\n    "
    return case


def _testcase(row: Row, result: PolicyResult) -> ET.Element:
    c, v = row.citation, row.verdict
    outlet = c.outlet or (urlsplit(v.url or c.url).hostname or "unknown")
    case = ET.Element("testcase", classname=_x(f"citations.{outlet}"),
                      name=_x(f"[{c.id}] {c.title or v.url}"),
                      time=f"{v.elapsed_ms / 1000:.3f}")
    outcome, reason = result.outcome(c.id), _x(_reason(result, c.id))
    if outcome == "fail":
        failure = ET.SubElement(case, "failure", message=reason, type=v.status.value)
        failure.text = _x(_details(row))
    elif outcome == "skip":
        ET.SubElement(case, "skipped", message=reason)
    out = ET.SubElement(case, "system-out")
    out.text = _x((f"WARNING: {reason}\n" if outcome == "warn" else "") + _details(row))
    return case


def _details(row: Row) -> str:
    v = row.verdict
    lines = [f"url: {v.url}", f"final_url: {v.final_url}", f"status: {v.status.value}",
             f"http_status: {v.http_status}", f"health: {v.health.value}",
             f"page_title: {v.page_title}", f"title_score: {v.title_score}",
             f"date_verdict: {v.date_verdict.value}"]
    lines += [f"failing_since: {row.failing_since}"] if row.failing_since else []
    lines += [f"error: {v.error}"] if v.error else []
    lines += [f"archive: {row.archive_url}"] if row.archive_url else []
    return "\n".join(lines) + "\n"


# --- Markdown (GitHub job summary) ---

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>#!~])")


def md_cell(text: Any) -> str:
    """Text safe inside a GFM table cell: no pipes, no newlines, no HTML, no fake links."""
    s = "" if text is None else str(text)
    s = _MD_SPECIAL.sub(r"\\\1", s).replace("&", "&amp;")
    s = s.replace("\\<", "&lt;").replace("\\>", "&gt;")
    return re.sub(r"[\r\n\t\x00-\x1f]+", " ", s).strip()


def safe_url(url: str) -> str:
    """An http(s) URL with the characters that break Markdown/HTML links encoded, else ''."""
    if urlsplit(url or "").scheme.lower() not in ("http", "https"):
        return ""
    return quote(url, safe=":/?#@!$&'*+,;=%~-._")


def md_link(text: Any, url: str) -> str:
    href = safe_url(url)
    label = md_cell(text) or md_cell(url)
    return f"[{label}]({href})" if href else label


def render_markdown(summary: Summary, fail_on: FailOn = DEFAULT) -> str:
    """A compact report that fits GitHub's job summary (rendered from a Jinja template)."""
    return render(summary, "md", fail_on)


def write_markdown(summary: Summary, fail_on: FailOn, fh: Writable, d: Digest) -> None:
    _write_template("report.md.j2", summary, fail_on, fh, d)


# --- HTML ---

def render_html(summary: Summary, fail_on: FailOn = DEFAULT) -> str:
    """A self-contained page: no JavaScript, no network, prints well."""
    return render(summary, "html", fail_on)


def write_html(summary: Summary, fail_on: FailOn, fh: Writable, d: Digest) -> None:
    _write_template("report.html.j2", summary, fail_on, fh, d)


@functools.cache
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("crawler", "templates"),
                             autoescape=autoescape, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(href=safe_url, md=md_cell, md_link=md_link, score=_score, group=group_of,
                       when=when, duration=human_duration, why=_why, url_text=_url_text,
                       outcome=lambda o: OUTCOME_LABELS.get(o, o))
    env.tests.update(page_seen=lambda r: r["status"] in PAGE_SEEN,
                     title_changed=_title_changed)
    return env


def _title_changed(record: dict[str, Any]) -> bool:
    """The page answered but no longer carries the cited title (policy.title_changed)."""
    return record["status"] in ("ok", "redirected") and record["title_match"] is False


def _why(record: dict[str, Any]) -> str:
    """The policy's reason without what the row already shows (the error, the page's title)."""
    reason = record["reason"]
    if record["error"]:
        reason = reason.replace(f" ({record['error']})", "")
    if record["page_title"]:
        reason = reason.replace(f": {record['page_title']!r}", "")
    return reason


_URL_BREAK = re.compile(r"(?<=[/?&=#])")
URL_SHOWN = 90          # characters of a long URL shown in a table cell; the rest is in title=


def _url_text(url: str) -> Markup:
    """A URL for a narrow cell: no scheme, middle elided past URL_SHOWN characters, and a
    break opportunity (<wbr>) after each / ? & = # so it wraps at slashes, never mid-word."""
    text = re.sub(r"^https?://", "", url or "", flags=re.IGNORECASE)
    if len(text) > URL_SHOWN:
        text = text[:URL_SHOWN - 25] + "…" + text[-24:]
    return Markup("<wbr>").join(Markup.escape(part) for part in _URL_BREAK.split(text))


def _write_template(name: str, summary: Summary, fail_on: FailOn, fh: Writable,
                    d: Digest) -> None:
    """Stream a template (Template.generate): `records` and `problems` are `Records`, made one
    citation at a time while the template loops over them."""
    template = _environment(name.endswith(".html.j2")).get_template(name)
    records = Records(summary.rows, d.result, d.citations)
    problems = Records(summary.rows, d.result, d.citations, kinds=("fail", "warn", "skip"))
    for chunk in template.generate(
            run=run_record(summary, d.result, fail_on, d), records=records, problems=problems,
            hints=d.hints, md_max_rows=MD_MAX_ROWS, chart=Markup(trend_svg(all_runs(summary))),
            groups={key: (label, group_members(key)) for key, label, _ in GROUPS}):
        fh.write(chunk)


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


# --- terminal timeline (`crawler history ID`) ---

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _term(text: Any) -> str:
    """No escape sequences from pages reach the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", "" if text is None else str(text))


def render_timeline(citation: Citation,
                    rows: Sequence[tuple[str, str, int, float | None, str]]) -> str:
    """One citation's history as plain text, oldest first: when, status, HTTP code, score, error."""
    head = [f"[{_term(citation.id)}] {_term(citation.title)}".rstrip(),
            f"  {_term(citation.outlet)} {_term(citation.url)}".rstrip()]
    table = [("checked_at", "status", "http", "score", "error")]
    table += [(_term(at), _term(status), str(code or ""), _score(score), _term(err))
              for at, status, code, score, err in rows]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4]
             for r in table]
    if not rows:
        lines.append("(never checked)")
    return "\n".join(head + [""] + [ln.rstrip() for ln in lines]) + "\n"
