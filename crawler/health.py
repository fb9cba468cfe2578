"""Health over history, and the Wikipedia url-status value it implies.

One bad run is news, not a verdict: sites have outages and bad days. A citation is *failing*
from its first bad run and *dead* only after N consecutive bad runs spanning at least D days.
Inconclusive runs (blocked, timeout, paywalled, robots_disallowed ...) say nothing about the
source, so they neither extend nor break a streak; one good run makes it ok again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from crawler.model import Health, Status, Verdict
from crawler.urls import host_key

__all__ = ["DEFAULT_DAYS", "DEFAULT_RUNS", "health", "is_bad", "is_good", "url_status"]

DEFAULT_RUNS = 3     # consecutive bad runs before "dead"
DEFAULT_DAYS = 3.0   # ... which must also span at least this many days


def is_good(status: Status) -> bool:
    return status.is_ok


def is_bad(status: Status) -> bool:
    """Counts toward dead. Statuses neither good nor bad (too_large, invalid_url and the
    inconclusive ones) are skipped, like a run that did not happen."""
    return status.is_dead_candidate


def _when(iso: str) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)  # naive means UTC


def health(history: Sequence[tuple[str, Status]], *, runs: int = DEFAULT_RUNS,
           days: float = DEFAULT_DAYS) -> tuple[Health, str]:
    """(health, failing_since) from (checked_at ISO, status) pairs, oldest first.

    failing_since is the checked_at of the first bad run of the current streak, '' if none.
    """
    streak: list[str] = []          # checked_at of bad runs since the last good one, newest first
    saw_good = False
    for checked_at, raw in reversed(history):
        status = Status(raw)            # tolerate plain strings from a store or a JSON file
        if is_good(status):
            saw_good = True
            break
        if is_bad(status):
            streak.append(checked_at)
    if not streak:
        return (Health.OK if saw_good else Health.UNKNOWN), ""
    first, last = streak[-1], streak[0]
    if len(streak) >= runs and _span_days(first, last) >= days:
        return Health.DEAD, first
    return Health.FAILING, first


def _span_days(first: str, last: str) -> float:
    a, b = _when(first), _when(last)
    if a is None or b is None:
        return 0.0
    return (b - a).total_seconds() / 86400


def url_status(verdict: Verdict, health: Health) -> str:
    """Wikipedia's |url-status=: live, dead, unfit, usurped or deviated.

    dead only from health (never from one run); deviated when the URL answers but no longer
    carries the cited title; usurped when it now serves another site (moved to a foreign
    host or a parked domain). unfit needs a human judgement of the content, so it is never
    guessed here.
    """
    if health is Health.DEAD:
        return "dead"
    if verdict.error.startswith("parked:"):
        return "usurped"
    if verdict.status.is_ok and verdict.title_match is False:
        moved = verdict.final_url and host_key(verdict.final_url) != host_key(verdict.url)
        return "usurped" if moved and _foreign(verdict.url, verdict.final_url) else "deviated"
    return "live"


_SECOND_LEVEL = {"co", "ac", "go", "ne", "or", "com", "org", "net", "gov", "edu"}


def _site(url: str) -> str:
    """Registrable-ish domain: last two labels, three under co.jp / com.au style suffixes."""
    labels = host_key(url).split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def _foreign(a: str, b: str) -> bool:
    return _site(a) != _site(b)
