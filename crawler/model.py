"""Plain data types that flow one way: registry -> fetch -> verify -> store -> report.

No I/O here and no imports from the rest of the package, so every stage can be
tested on its own and a record can be pickled or handed to another worker.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Iterator, Protocol


class Status(StrEnum):
    """The fixed vocabulary a citation check ends in. Never an exception.

    A fetch produces a subset of these (the transport-level ones); verify adds
    the page-level judgements (redirected, soft_404, paywalled).
    """

    OK = "ok"
    REDIRECTED = "redirected"
    SOFT_404 = "soft_404"
    NOT_FOUND = "not_found"
    GONE = "gone"
    CLIENT_ERROR = "client_error"
    SERVER_ERROR = "server_error"
    BLOCKED = "blocked"
    PAYWALLED = "paywalled"
    TIMEOUT = "timeout"
    REDIRECT_LOOP = "redirect_loop"
    TOO_LARGE = "too_large"
    ROBOTS_DISALLOWED = "robots_disallowed"
    DNS_ERROR = "dns_error"
    CONNECTION_ERROR = "connection_error"
    TLS_ERROR = "tls_error"
    INVALID_URL = "invalid_url"
    PRIVATE_ADDRESS = "private_address"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    @property
    def is_ok(self) -> bool:
        return self in (Status.OK, Status.REDIRECTED)

    @property
    def is_inconclusive(self) -> bool:
        """We could not check: says nothing about whether the source is alive."""
        return self in _INCONCLUSIVE

    @property
    def is_transient(self) -> bool:
        """Worth another attempt later in the run (retry policy lives in fetch)."""
        return self in (Status.TIMEOUT, Status.CONNECTION_ERROR, Status.SERVER_ERROR,
                        Status.DNS_ERROR)

    @property
    def is_dead_candidate(self) -> bool:
        """A failure that, repeated over runs and days, makes a citation dead."""
        return self in (Status.NOT_FOUND, Status.GONE, Status.SOFT_404, Status.SERVER_ERROR,
                        Status.DNS_ERROR, Status.CONNECTION_ERROR, Status.TLS_ERROR,
                        Status.REDIRECT_LOOP, Status.CLIENT_ERROR, Status.INVALID_URL)

    @property
    def is_network_level(self) -> bool:
        """No HTTP answer at all: used to tell 'the network is down' from 'the site is'."""
        return self in (Status.DNS_ERROR, Status.CONNECTION_ERROR)


_INCONCLUSIVE = frozenset({Status.BLOCKED, Status.PAYWALLED, Status.TIMEOUT, Status.TOO_LARGE,
                           Status.ROBOTS_DISALLOWED, Status.PRIVATE_ADDRESS})

_DESCRIPTIONS = {
    Status.OK: "the cited page answers and is the cited article",
    Status.REDIRECTED: "permanently moved; the new URL is still the cited article",
    Status.SOFT_404: "answers 2xx but the page is an error page or the site's home",
    Status.NOT_FOUND: "404 Not Found",
    Status.GONE: "410 Gone",
    Status.CLIENT_ERROR: "another 4xx answer",
    Status.SERVER_ERROR: "5xx answer after retries",
    Status.BLOCKED: "401/403/429 or a bot challenge: we could not check",
    Status.PAYWALLED: "reachable, text behind a login or subscription",
    Status.TIMEOUT: "no complete answer within the time limits",
    Status.REDIRECT_LOOP: "redirects loop or exceed the limit",
    Status.TOO_LARGE: "body over the size cap and nothing judgeable in what was read",
    Status.ROBOTS_DISALLOWED: "robots.txt forbids our user agent",
    Status.DNS_ERROR: "the host name does not resolve",
    Status.CONNECTION_ERROR: "could not connect or the connection broke",
    Status.TLS_ERROR: "TLS handshake or certificate failure",
    Status.INVALID_URL: "not an http(s) URL we can fetch",
    Status.PRIVATE_ADDRESS: "refused: resolves to a loopback/private address",
}


class Health(StrEnum):
    """A citation's state over history, not one run."""

    OK = "ok"
    FAILING = "failing"          # bad now, not yet long enough to call dead
    DEAD = "dead"                # failed N consecutive runs spanning >= D days
    UNKNOWN = "unknown"          # only inconclusive results so far


class DateVerdict(StrEnum):
    OK = "ok"
    PUBLISHED_MISMATCH = "published_mismatch"
    MODIFIED_AFTER_ACCESS = "modified_after_access"
    NO_DATE = "no_date"
    CITATION_ERROR = "citation_error"


@dataclass(frozen=True, slots=True)
class Citation:
    """One footnote, one row of citations.csv. Dates are ISO strings or ''."""

    id: str
    authors: tuple[str, ...] = ()
    title: str = ""
    outlet: str = ""
    published: str = ""
    url: str = ""
    accessed: str = ""
    lang: str = ""
    raw: str = ""


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem with one input row/footnote; yielded beside the good rows, never raised."""

    source: str          # file name
    line: int            # row or footnote number (1-based); 0 for whole-file problems
    message: str
    column: str = ""
    severity: str = "error"   # "error" or "note"

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        col = f" [{self.column}]" if self.column else ""
        return f"{where}{col}: {self.severity}: {self.message}"


@dataclass(frozen=True, slots=True)
class Hop:
    url: str
    status_code: int


@dataclass(frozen=True, slots=True)
class Fetched:
    """Transport facts about one URL: what the server said, nothing judged yet.

    `outcome` is None when an HTTP answer arrived (any status code); otherwise
    the transport-level Status (timeout, dns_error, robots_disallowed, ...).
    """

    url: str
    final_url: str = ""
    status_code: int = 0
    hops: tuple[Hop, ...] = ()          # every redirect answered on the way, in order
    headers: dict[str, str] = field(default_factory=dict)   # final response, lower-case keys
    body: bytes = b""
    truncated: bool = False             # body cap reached; body holds the head of the page
    elapsed_ms: int = 0
    attempts: int = 1
    from_cache: bool = False            # 304 answered; body came from cache/
    outcome: Status | None = None
    error: str = ""                     # human detail for outcome, names the URL's problem
    retry_after: float | None = None    # seconds the server asked us to wait, if it did
    remote_addr: str = ""
    fetched_at: str = ""                # ISO timestamp, UTC

    @property
    def answered(self) -> bool:
        return self.outcome is None and self.status_code > 0


@dataclass(frozen=True, slots=True)
class Page:
    """What extract.py reads off an HTML page (pure function of bytes + headers)."""

    titles: tuple[tuple[str, str], ...] = ()   # (source, text): og:title, twitter:title, jsonld, title, h1
    site_name: str = ""
    published: str = ""            # ISO date (YYYY-MM-DD) or ''
    modified: str = ""
    canonical: str = ""
    lang: str = ""
    text: str = ""                 # main text, for soft-404 and drift fingerprints
    is_accessible_for_free: bool | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judgement of one citation in one run. Field names are the JSON output's keys."""

    id: str
    url: str
    status: Status
    final_url: str = ""
    http_status: int = 0
    redirects: tuple[Hop, ...] = ()
    page_title: str = ""
    title_score: float | None = None
    title_match: bool | None = None
    published_found: str = ""
    modified_found: str = ""
    date_verdict: DateVerdict = DateVerdict.NO_DATE
    drift: float | None = None
    fingerprint: str = ""
    health: Health = Health.UNKNOWN
    url_status: str = ""             # Wikipedia citation template value: live/dead/unfit/usurped/deviated
    attempts: int = 0
    elapsed_ms: int = 0
    error: str = ""
    checked_at: str = ""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def isonow() -> str:
    return utcnow().isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt (a retry is another Attempt), recorded in the store as it happens."""

    url: str
    attempt: int                       # 1-based
    started_at: str                    # ISO UTC
    status_code: int = 0
    final_url: str = ""
    hops: tuple[Hop, ...] = ()
    bytes: int = 0
    elapsed_ms: int = 0
    outcome: Status | None = None      # transport failure kind, None when an HTTP answer came
    error: str = ""
    from_cache: bool = False


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run of `crawler check`, as the store keeps it."""

    id: int
    started_at: str
    finished_at: str = ""
    state: str = "running"             # running | finished | interrupted | inconclusive
    counts: dict[str, int] = field(default_factory=dict)   # status -> number of citations


@dataclass(frozen=True, slots=True)
class Row:
    """One citation in a report: the registry row, this run's verdict and its history."""

    citation: Citation
    verdict: Verdict
    failing_since: str = ""            # ISO time of the first bad run in the current streak
    archive_url: str = ""              # archived copy (Memento) when one is known
    archive_date: str = ""


class Rows(Protocol):
    """What `Summary.rows` must be: sized and iterable any number of times, in citation order.

    A tuple of Rows does (tests, small runs); the store gives `store.StoredRows`, which reads
    them afresh on each walk so a 100,000-citation report never holds them all. Consumers
    walk it (more than once if they must) and never assume it is a tuple.
    """

    def __iter__(self) -> Iterator[Row]: ...

    def __len__(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Summary:
    """Everything a report format needs; built from the store, rendered by report.py."""

    run: RunInfo
    rows: Rows                                 # walked, never indexed: see Rows
    history: tuple[RunInfo, ...] = ()          # earlier runs, oldest first, for the trend chart
    newly_failing: tuple[str, ...] = ()        # citation ids bad now, good in the previous run
    recovered: tuple[str, ...] = ()            # citation ids good now, bad in the previous run
    hints: tuple[str, ...] = ()                # actionable lines (slow down for X, update URL Y)
