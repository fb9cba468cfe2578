"""The human reports, HTML and Markdown, rendered from the Jinja templates in templates/.

Page text is hostile input, escaped the way each format needs: Jinja autoescape for HTML,
backslashes and entities in Markdown table cells (`md_cell`); links only ever for http(s)
URLs (`safe_url`). The Markdown report is sized for a GitHub job summary (1 MiB at most:
MD_MAX_ROWS rows; the full table is in the HTML). Templates are streamed
(Template.generate) over `Records`, so a run of any size is held one citation at a time.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from markupsafe import Markup

from crawler.chart import GROUPS, group_members, group_of, trend_svg, when
from crawler.model import Summary
from crawler.policy import FailOn
from crawler.report_output import Writable
from crawler.report_records import (
    Digest,
    Records,
    all_runs,
    human_duration,
    run_record,
    score_text,
)

__all__ = ["MD_MAX_ROWS", "OUTCOME_LABELS", "PAGE_SEEN", "URL_SHOWN", "md_cell", "md_link",
           "safe_url", "write_html", "write_markdown"]

# A policy outcome as the human formats name it (JSON/CSV keep the keys on the left).
OUTCOME_LABELS = {"fail": "fails", "warn": "warning", "skip": "could not check", "ok": "ok"}
# Statuses where we read the cited page itself: only there do a title score and dates mean
# anything (on a 404 or 500 page they score the error page).
PAGE_SEEN = frozenset({"ok", "redirected", "paywalled"})
MD_MAX_ROWS = 500        # GitHub caps a job summary at 1 MiB; the full table is in the HTML


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


def write_markdown(summary: Summary, fail_on: FailOn, fh: Writable, d: Digest) -> None:
    _write_template("report.md.j2", summary, fail_on, fh, d)


# --- HTML ---

def write_html(summary: Summary, fail_on: FailOn, fh: Writable, d: Digest) -> None:
    _write_template("report.html.j2", summary, fail_on, fh, d)


@functools.cache
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("crawler", "templates"),
                             autoescape=autoescape, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(href=safe_url, md=md_cell, md_link=md_link, score=score_text,
                       group=group_of, when=when, duration=human_duration, why=_why,
                       url_text=_url_text, outcome=lambda o: OUTCOME_LABELS.get(o, o))
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
