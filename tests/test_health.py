"""health.py (history -> health, url-status) and drift.py (fingerprints)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler import drift
from crawler.health import health, url_status
from crawler.model import Health, Status, Verdict

S = Status
DAY = "2026-11-{:02d}T03:00:00+00:00"


def hist(*statuses: Status, start: int = 1, step: int = 1) -> list[tuple[str, Status]]:
    return [(DAY.format(start + i * step), s) for i, s in enumerate(statuses)]


@pytest.mark.parametrize("history, expected", [
    ([], (Health.UNKNOWN, "")),
    (hist(S.OK), (Health.OK, "")),
    (hist(S.BLOCKED, S.TIMEOUT, S.BLOCKED), (Health.UNKNOWN, "")),            # we never could look
    (hist(S.NOT_FOUND), (Health.FAILING, DAY.format(1))),                      # failing from the first bad run
    (hist(S.OK, S.NOT_FOUND, S.SOFT_404), (Health.FAILING, DAY.format(2))),
    (hist(S.NOT_FOUND, S.NOT_FOUND, S.NOT_FOUND, start=1, step=2), (Health.DEAD, DAY.format(1))),   # 3 runs, 4 days
    (hist(S.NOT_FOUND, S.NOT_FOUND, S.NOT_FOUND, start=1, step=1), (Health.FAILING, DAY.format(1))),  # only 2 days
    (hist(S.NOT_FOUND, S.NOT_FOUND, start=1, step=5), (Health.FAILING, DAY.format(1))),              # only 2 runs
    (hist(S.NOT_FOUND, S.BLOCKED, S.TIMEOUT, S.GONE, S.SERVER_ERROR, start=1, step=1),
     (Health.DEAD, DAY.format(1))),                                            # inconclusive runs neither break nor count
    (hist(S.NOT_FOUND, S.NOT_FOUND, S.NOT_FOUND, S.OK, start=1, step=2), (Health.OK, "")),  # one good run: ok again
    (hist(S.NOT_FOUND, S.NOT_FOUND, S.OK, S.DNS_ERROR, start=1, step=3), (Health.FAILING, DAY.format(10))),
    (hist(S.OK, S.BLOCKED), (Health.OK, "")),                                  # blocked alone never makes it bad
])
def test_health_transitions(history, expected):
    assert health(history) == expected


def test_runs_and_days_are_parameters():
    h = hist(S.GONE, S.GONE, start=1, step=1)
    assert health(h, runs=2, days=1)[0] is Health.DEAD
    assert health(h, runs=2, days=1.5)[0] is Health.FAILING


def v(status: Status, match: bool | None = True, final: str = "", error: str = "") -> Verdict:
    return Verdict(id="c", url="https://www.cnn.co.jp/world/1.html", status=status, title_match=match,
                   final_url=final or "https://www.cnn.co.jp/world/1.html", error=error)


@pytest.mark.parametrize("verdict, state, value", [
    (v(S.OK), Health.OK, "live"),
    (v(S.NOT_FOUND, None), Health.FAILING, "live"),        # not dead until history says so
    (v(S.NOT_FOUND, None), Health.DEAD, "dead"),
    (v(S.BLOCKED, None), Health.UNKNOWN, "live"),
    (v(S.OK, False), Health.OK, "deviated"),               # answers, but no longer the cited article
    (v(S.REDIRECTED, False, final="https://www.cnn.co.jp/usa/2.html"), Health.OK, "deviated"),
    (v(S.REDIRECTED, False, final="https://casino.example.net/"), Health.OK, "usurped"),
    (v(S.REDIRECTED, False, final="https://edition.cnn.co.jp/x"), Health.OK, "deviated"),   # same site, co.jp aware
    (v(S.SOFT_404, None, error="parked:domain-for-sale"), Health.FAILING, "usurped"),
])
def test_url_status(verdict, state, value):
    assert url_status(verdict, state) == value


def test_fingerprint_similarity():
    text = "ウクライナのゼレンスキー大統領は国民向けの演説で、国は歴史上最も困難な時期の一つにあると述べた。" * 5
    edited = text.replace("最も困難な", "非常に厳しい")
    other = "Choose a sunny corner and a deep pot for tomatoes; water every morning in summer. " * 5
    fp = drift.fingerprint(text)
    assert drift.similarity(fp, fp) == 1.0
    assert 0.5 < drift.similarity(fp, drift.fingerprint(edited)) < 1.0
    assert drift.similarity(fp, drift.fingerprint(other)) < 0.1
    assert drift.fingerprint("") == "" and drift.similarity("", "") == 1.0
    assert drift.similarity(fp, "") == 0.0
    assert drift.fingerprint("Same  TEXT") == drift.fingerprint("same text")   # NFKC, case, spaces



@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_similarity_is_symmetric_and_bounded(a, b):
    fa, fb = drift.fingerprint(a), drift.fingerprint(b)
    assert drift.similarity(fa, fb) == drift.similarity(fb, fa)
    assert 0.0 <= drift.similarity(fa, fb) <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list(Status)), max_size=8))
def test_inconclusive_only_history_is_never_dead(statuses):
    history = hist(*statuses, start=1, step=2) if statuses else []
    state, _ = health(history)
    if not any(s.is_dead_candidate for s in statuses):
        assert state in (Health.OK, Health.UNKNOWN)
