"""Summary -> html / md / json / junit / csv, one function per format, plus a terminal timeline.

The entry point: `render` and `write` pick a format's writer and hand it the digest (one walk
over the rows that every format's header needs). Each format lives in its own module, with
its own way of escaping hostile page text (title, final URL, error text): report_templates
(HTML and Markdown), report_json, report_junit, report_csv; the shared citation and run
records are in report_records, and where the text goes (files, stdout) in report_output.

Vocabulary. Every human format (HTML, Markdown, the CLI) calls a citation whose page we could
not judge this run (`Status.is_inconclusive`) "could not check", and a policy outcome "fails",
"warning" or "could not check". The JSON, CSV and JUnit keep their stable machine names for
the same things: a citation's `"outcome"` is `"fail"`, `"warn"`, `"skip"` (= could not check)
or `"ok"`, and `run.policy.inconclusive` counts the citations we could not check. A *run* is
"inconclusive" (state `inconclusive`, exit code 3) only when no host answered at all.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from crawler.model import Citation, Summary
from crawler.policy import DEFAULT, FailOn
from crawler.report_csv import write_csv
from crawler.report_json import write_json
from crawler.report_junit import write_junit
from crawler.report_output import Writable
from crawler.report_records import Digest, make_digest, score_text
from crawler.report_templates import write_html, write_markdown

__all__ = ["FORMATS", "render", "render_csv", "render_html", "render_json", "render_junit",
           "render_markdown", "render_timeline", "write"]

FORMATS = ("html", "md", "json", "junit", "csv")


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


def render_json(summary: Summary, fail_on: FailOn = DEFAULT) -> str:
    """The whole report as one JSON document; <, > and & are \\u-escaped so it embeds safely."""
    return render(summary, "json", fail_on)


def render_csv(summary: Summary, fail_on: FailOn = DEFAULT) -> str:
    """One row per citation, the JSON object flattened (redirects as a hop count)."""
    return render(summary, "csv", fail_on)


def render_junit(summary: Summary, fail_on: FailOn = DEFAULT) -> str:
    """One <testcase> per citation; see crawler.report_junit for the mapping."""
    return render(summary, "junit", fail_on)


def render_markdown(summary: Summary, fail_on: FailOn = DEFAULT) -> str:
    """A compact report that fits GitHub's job summary (rendered from a Jinja template)."""
    return render(summary, "md", fail_on)


def render_html(summary: Summary, fail_on: FailOn = DEFAULT) -> str:
    """A self-contained page: no JavaScript, no network, prints well."""
    return render(summary, "html", fail_on)


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
    table += [(_term(at), _term(status), str(code or ""), score_text(score), _term(err))
              for at, status, code, score, err in rows]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4]
             for r in table]
    if not rows:
        lines.append("(never checked)")
    return "\n".join(head + [""] + [ln.rstrip() for ln in lines]) + "\n"
