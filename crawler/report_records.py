"""The record layer every report format reads: the digest, the citation and run records.

One shape for a citation (`citation_record`, the JSON report's object) and one for the run
(`run_record`), so JSON, CSV, JUnit and the templates cannot disagree on a field. The digest
is what one walk over the rows knows before the first citation is written (every format's
header counts what follows); `Records` makes the records one at a time for the templates, so
a report holds one citation at a time, not the run.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from crawler.model import Row, Rows, RunInfo, Summary
from crawler.policy import DEFAULT, Evaluator, FailOn, HintFinder, PolicyResult

__all__ = ["Digest", "Records", "all_runs", "citation_record", "duration_s", "human_duration",
           "make_digest", "run_record", "score_text"]


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
        "outcome": result.outcome(c.id), "reason": result.reason(c.id),
    }


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


def score_text(value: float | None) -> str:
    """A title score as shown to people (the templates' `score` filter, the timeline)."""
    return "" if value is None else f"{value:.0f}"
