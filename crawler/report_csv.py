"""The CSV report: one row per citation, the JSON report's object flattened, for spreadsheets.

A spreadsheet runs a cell that starts with = + - @ as a formula, and a page title is hostile
input: such a cell gets a leading quote, so '=HYPERLINK(...)' stays text.
"""

from __future__ import annotations

import csv
from typing import Any

from crawler.model import Summary
from crawler.policy import FailOn
from crawler.report_output import Writable
from crawler.report_records import Digest, citation_record

__all__ = ["CSV_FIELDS", "write_csv"]

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


def write_csv(summary: Summary, fail_on: FailOn, fh: Writable, d: Digest) -> None:
    writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in summary.rows:
        rec = citation_record(row, d.result)
        rec.update(rec.pop("citation"), id=rec["id"], url=rec["url"],
                   redirects=len(rec["redirects"]), archive_url=row.archive_url,
                   archive_date=row.archive_date)
        writer.writerow({k: _csv_cell(rec.get(k)) for k in CSV_FIELDS})
