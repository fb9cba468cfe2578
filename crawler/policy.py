"""When a run fails CI: the `--fail-on` policy, exit codes and end-of-run hints. Pure.

The default is built against false alarms, the main complaint about link checkers in CI:
one bad night is a *warning* (shown, not fatal); a citation fails the build only when its
health is `dead` (bad over several runs spanning several days), its page title changed, or
its URL is not a fetchable http(s) URL at all (`invalid_url`: a defect in the article that no
amount of waiting fixes, so there is no false alarm to guard against).
Statuses that mean "we could not check" (blocked, paywalled, robots_disallowed, ...) never
fail unless named explicitly. (PolicyResult.inconclusive holds those citations; reports call
them "could not check", the JSON outcome "skip".)

Tokens of `--fail-on` (comma-separated):
  * a Status value (not_found, gone, soft_404, ...): this run's status is that;
  * a Health value (failing, dead, unknown): the citation's health over history is that;
  * a DateVerdict problem (published_mismatch, modified_after_access, citation_error);
  * `title_changed`: the page answered but its title no longer matches the citation;
  * `new`: a modifier, only citations that broke since the previous run count; alone it
    means "anything that broke since the previous run";
  * `none`: never fail (report only).
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.model import DateVerdict, Health, Row, Status, Summary

EXIT_OK = 0              # the policy holds
EXIT_POLICY = 1          # the policy is violated
EXIT_USAGE = 2           # bad invocation or unreadable input (raised by the CLI, listed here)
EXIT_INCONCLUSIVE = 3    # no host answered (network down): says nothing about the citations

DEFAULT_FAIL_ON = "dead,title_changed,invalid_url"
TITLE_CHANGED = "title_changed"
NEW = "new"
NONE = "none"

_STATUS_TOKENS = {s.value for s in Status} - {Status.OK.value}
_HEALTH_TOKENS = {h.value for h in Health} - {Health.OK.value}
_DATE_TOKENS = {d.value for d in DateVerdict} - {DateVerdict.OK.value, DateVerdict.NO_DATE.value}
TOKENS = frozenset(_STATUS_TOKENS | _HEALTH_TOKENS | _DATE_TOKENS | {TITLE_CHANGED, NEW, NONE})


def _in_order(values: set[str], enum: type) -> str:
    return ", ".join(m.value for m in enum if m.value in values)


# What an error message offers instead of a bad token: grouped, each group in its enum's order.
TOKEN_GROUPS = (f"statuses ({_in_order(_STATUS_TOKENS, Status)}), "
                f"health ({_in_order(_HEALTH_TOKENS, Health)}), "
                f"dates ({_in_order(_DATE_TOKENS, DateVerdict)}), "
                f"{TITLE_CHANGED}, or the modifiers {NEW} and {NONE}")


@dataclass(frozen=True, slots=True)
class FailOn:
    """A parsed `--fail-on`: the conditions that fail a citation, and the `new` modifier."""

    conditions: frozenset[str]
    only_new: bool = False

    def __str__(self) -> str:
        parts = sorted(self.conditions) + ([NEW] if self.only_new else [])
        return ",".join(parts) or NONE


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """What the policy made of one run; `exit_code` is what `crawler check` returns."""

    failures: list[tuple[str, str]]       # (citation id, reason): fatal
    warnings: list[tuple[str, str]]       # bad but not fatal under this policy
    inconclusive: list[tuple[str, str]]   # we could not check; never fatal unless named
    exit_code: int
    _by_id: dict[str, dict[str, str]] = field(default_factory=dict, init=False, repr=False,
                                              compare=False)

    def outcome(self, citation_id: str) -> str:
        """'fail', 'warn', 'skip' or 'ok' for one citation, for report badges."""
        return self._lookup(citation_id)[0]

    def reason(self, citation_id: str) -> str:
        return self._lookup(citation_id)[1]

    def _lookup(self, citation_id: str) -> tuple[str, str]:
        index = self._index()
        for kind in ("fail", "warn", "skip"):
            why = index[kind].get(citation_id)
            if why is not None:
                return kind, why
        return "ok", ""

    def _index(self) -> dict[str, dict[str, str]]:
        """outcome -> {id: reason}, built once: a report asks per citation (100,000 of them).
        The reasons are the lists' own strings: no new object per citation."""
        if not self._by_id:
            for kind, items in (("fail", self.failures), ("warn", self.warnings),
                                ("skip", self.inconclusive)):
                self._by_id[kind] = by_id = {}
                for cid, why in items:
                    by_id.setdefault(cid, why)
        return self._by_id


def parse_fail_on(text: str) -> FailOn:
    """Parse 'dead,title_changed,new'. Raises ValueError naming the bad token and the valid ones.

    The messages do not say '--fail-on' themselves: config.py prefixes the key and where it
    came from (`fail_on from --fail-on: ...`, `fail_on from CRAWLER_FAIL_ON: ...`).
    """
    tokens = [t.strip().lower().replace("-", "_") for t in text.split(",") if t.strip()]
    if not tokens:
        raise ValueError("no tokens given; use 'none' to never fail")
    bad = list(dict.fromkeys(t for t in tokens if t not in TOKENS))
    if bad:
        close = difflib.get_close_matches(bad[0], TOKENS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        what = ("unknown token " + repr(bad[0]) if len(bad) == 1
                else "unknown tokens " + ", ".join(map(repr, bad)))
        raise ValueError(f"{what} in {text!r}{hint}; use {TOKEN_GROUPS}")
    if NONE in tokens and len(set(tokens)) > 1:
        raise ValueError(f"'none' cannot be combined with other tokens (got {text!r})")
    conditions = frozenset(t for t in tokens if t not in (NEW, NONE))
    return FailOn(conditions=conditions, only_new=NEW in tokens)


DEFAULT = parse_fail_on(DEFAULT_FAIL_ON)


def is_bad(row: Row) -> bool:
    """A real problem with the citation (not 'we could not check')."""
    v = row.verdict
    if v.status.is_inconclusive:
        return False
    return (v.status.is_dead_candidate or v.health in (Health.FAILING, Health.DEAD)
            or title_changed(row))


def title_changed(row: Row) -> bool:
    """The page answered but no longer carries the cited title."""
    return row.verdict.status.is_ok and row.verdict.title_match is False


def matches(row: Row, fail_on: FailOn) -> list[str]:
    """The conditions of `fail_on` this row meets, as reasons a human reads."""
    v = row.verdict
    if v.status.is_inconclusive and v.status.value not in fail_on.conditions:
        return []       # we could not check this run: only a policy naming the status fails it
    found = []
    if v.status.value in fail_on.conditions:
        found.append(f"status {v.status.value}: {v.status.description}")
    if v.health.value in fail_on.conditions:
        since = f" since {row.failing_since[:10]}" if row.failing_since else ""   # the day
        found.append(f"health {v.health.value}{since}")
    if v.date_verdict.value in fail_on.conditions:
        found.append(f"date {v.date_verdict.value}")
    if TITLE_CHANGED in fail_on.conditions and title_changed(row):
        found.append(f"title changed (score {_score(v.title_score)}): {v.page_title!r}")
    return found


def describe(row: Row) -> str:
    """One line on what is wrong with a row, for warnings and skipped checks."""
    v = row.verdict
    if title_changed(row):
        return f"title changed (score {_score(v.title_score)}): {v.page_title!r}"
    detail = f" ({v.error})" if v.error else ""
    health = f", health {v.health.value}" if v.health in (Health.FAILING, Health.DEAD) else ""
    return f"{v.status.value}{detail}{health}"


def evaluate(summary: Summary, fail_on: FailOn = DEFAULT) -> PolicyResult:
    """Sort every citation into failures, warnings, inconclusive; derive the exit code."""
    tally = Evaluator(summary, fail_on)
    for row in summary.rows:
        tally.add(row)
    return tally.result()


class Evaluator:
    """`evaluate` one row at a time, for a caller that walks the rows once for several things
    (report.digest: the policy, the counts and the hints in a single pass over the store)."""

    def __init__(self, summary: Summary, fail_on: FailOn = DEFAULT):
        self.summary, self.fail_on = summary, fail_on
        self.new = set(summary.newly_failing) if fail_on.only_new else frozenset()
        self.failures: list[tuple[str, str]] = []
        self.warnings: list[tuple[str, str]] = []
        self.inconclusive: list[tuple[str, str]] = []

    def add(self, row: Row) -> None:
        fail_on, cid = self.fail_on, row.citation.id
        reasons = matches(row, fail_on)
        if fail_on.only_new and not fail_on.conditions and is_bad(row):
            reasons = [describe(row)]
        if fail_on.only_new and cid not in self.new:
            reasons = []
        if reasons:
            self.failures.append((cid, "; ".join(reasons)))
        elif row.verdict.status.is_inconclusive:
            self.inconclusive.append((cid, describe(row)))
        elif is_bad(row):
            self.warnings.append((cid, describe(row)))

    def result(self) -> PolicyResult:
        return PolicyResult(self.failures, self.warnings, self.inconclusive,
                            _exit_code(self.summary, self.failures))


def _exit_code(summary: Summary, failures: list[tuple[str, str]]) -> int:
    """Inconclusive wins: with the network down this run says nothing about anyone."""
    if summary.run.state == "inconclusive":
        return EXIT_INCONCLUSIVE
    return EXIT_POLICY if failures else EXIT_OK


def _score(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.0f}"


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def hints(summary: Summary) -> list[str]:
    """Lines a user can act on at the end of a run (lychee style): slow down, update, check."""
    finder = HintFinder()
    for row in summary.rows:
        finder.add(row)
    return finder.lines(summary.hints)


class HintFinder:
    """`hints` one row at a time (one walk over the rows, whatever they are)."""

    def __init__(self) -> None:
        self.limited: Counter[str] = Counter()
        self.walls: Counter[str] = Counter()
        self.robots: Counter[str] = Counter()
        self.moved: list[str] = []
        self.archived: list[str] = []

    def add(self, r: Row) -> None:
        v = r.verdict
        if v.http_status == 429:
            self.limited[_host(v.url)] += 1
        elif v.status == Status.BLOCKED:
            self.walls[_host(v.url)] += 1
        if v.status == Status.ROBOTS_DISALLOWED:
            self.robots[_host(v.url)] += 1
        if v.status == Status.REDIRECTED and v.final_url and v.final_url != v.url:
            self.moved.append(f"footnote {r.citation.id}: moved permanently; update the "
                              f"article's URL {v.url} -> {v.final_url}")
        if v.health == Health.DEAD and r.archive_url:
            self.archived.append(f"footnote {r.citation.id}: dead; an archived copy exists "
                                 f"at {r.archive_url}")

    def lines(self, extra: tuple[str, ...] = ()) -> list[str]:
        """The hints found so far, then `extra` (the pipeline's own), each once."""
        out = [f"{host} rate-limited us (429) on {n} citation(s): slow down with --delay 5 "
               f"(or CRAWLER_DELAY=5) and keep --per-host 1"
               for host, n in sorted(self.limited.items())]
        out += [f"{host} showed a bot wall on {n} citation(s): check by hand in a browser; "
                f"it never fails the build by default" for host, n in sorted(self.walls.items())]
        out += [f"robots.txt of {host} forbids our user agent for {n} citation(s): "
                f"ask the site, or use --ignore-robots only with permission"
                for host, n in sorted(self.robots.items())]
        return list(dict.fromkeys([*out, *self.moved, *self.archived, *extra]))
