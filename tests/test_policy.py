"""--fail-on: what fails the build, what only warns, and the exit codes."""

from __future__ import annotations

import dataclasses
import re

import pytest
from test_report import make_row, make_summary

from crawler.model import Health, Status
from crawler.policy import (
    DEFAULT,
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    EXIT_POLICY,
    TOKENS,
    evaluate,
    hints,
    parse_fail_on,
)


def ids(pairs):
    return [cid for cid, _ in pairs]


def test_default_one_bad_night_is_a_warning_and_exits_0():
    summary = make_summary([make_row("1"), make_row("2", Status.NOT_FOUND, health=Health.FAILING,
                                                    http=404, title_match=None)])
    result = evaluate(summary)
    assert result.failures == [] and ids(result.warnings) == ["2"]
    assert result.exit_code == EXIT_OK


def test_default_dead_fails_with_exit_1():
    summary = make_summary([make_row("1", Status.GONE, health=Health.DEAD, http=410,
                                     failing_since="2026-11-18T01:00:00+00:00")])
    result = evaluate(summary)
    assert ids(result.failures) == ["1"] and "dead since 2026-11-18" in result.failures[0][1]
    assert "T01:00" not in result.failures[0][1]                 # the day, not a raw timestamp
    assert result.exit_code == EXIT_POLICY


def test_default_title_changed_fails():
    summary = make_summary([make_row("1", page_title="Buy cheap watches", title_match=False,
                                     title_score=8.0)])
    result = evaluate(summary)
    assert ids(result.failures) == ["1"] and "title changed" in result.failures[0][1]


def test_title_mismatch_on_an_error_page_is_not_a_title_change():
    row = make_row("1", Status.SOFT_404, health=Health.FAILING, title_match=False)
    assert evaluate(make_summary([row])).failures == []


@pytest.mark.parametrize("status", [Status.BLOCKED, Status.PAYWALLED, Status.ROBOTS_DISALLOWED])
@pytest.mark.parametrize("health", [Health.UNKNOWN, Health.FAILING, Health.DEAD])
def test_could_not_look_never_fails_by_default(status, health):
    # Even if the store called it dead, blocked/paywalled/robots say nothing about the source.
    row = make_row("1", status, health=health, http=403)
    result = evaluate(make_summary([row]))
    assert result.failures == [] and ids(result.inconclusive) == ["1"]
    assert result.exit_code == EXIT_OK


def test_could_not_look_fails_when_named():
    row = make_row("1", Status.BLOCKED, health=Health.UNKNOWN, http=403)
    assert ids(evaluate(make_summary([row]), parse_fail_on("blocked")).failures) == ["1"]


def test_explicit_statuses():
    rows = [make_row("1", Status.NOT_FOUND, health=Health.FAILING),
            make_row("2", Status.SERVER_ERROR, health=Health.FAILING),
            make_row("3", Status.SOFT_404, health=Health.FAILING)]
    result = evaluate(make_summary(rows), parse_fail_on("not_found,gone,soft_404,dead"))
    assert ids(result.failures) == ["1", "3"] and ids(result.warnings) == ["2"]


def test_new_only_fails_newly_failing_ids():
    rows = [make_row("1", Status.NOT_FOUND, health=Health.FAILING),
            make_row("2", Status.NOT_FOUND, health=Health.FAILING)]
    summary = make_summary(rows, newly_failing=("2",))
    result = evaluate(summary, parse_fail_on("not_found,new"))
    assert ids(result.failures) == ["2"] and ids(result.warnings) == ["1"]


def test_new_alone_fails_anything_that_just_broke():
    rows = [make_row("1", Status.NOT_FOUND, health=Health.FAILING),
            make_row("2", Status.TIMEOUT, health=Health.FAILING),
            make_row("3", Status.GONE, health=Health.FAILING)]
    summary = make_summary(rows, newly_failing=("1", "2"))
    result = evaluate(summary, parse_fail_on("new"))
    assert ids(result.failures) == ["1"]       # a timeout is 'could not check', not broken


def test_none_never_fails():
    row = make_row("1", Status.GONE, health=Health.DEAD)
    result = evaluate(make_summary([row]), parse_fail_on("none"))
    assert result.failures == [] and result.exit_code == EXIT_OK


def test_inconclusive_run_exits_3():
    summary = make_summary([make_row("1", Status.DNS_ERROR, health=Health.FAILING)])
    summary = dataclasses.replace(summary, run=dataclasses.replace(summary.run, state="inconclusive"))
    assert evaluate(summary).exit_code == EXIT_INCONCLUSIVE


@pytest.mark.parametrize("text,bad", [("dead,bogus", "bogus"), ("ok", "ok"), ("deadd", "deadd")])
def test_unknown_token_is_named(text, bad):
    with pytest.raises(ValueError, match=f"unknown token '{bad}' in '{text}'"):
        parse_fail_on(text)


def test_unknown_token_message_groups_every_token_once():
    with pytest.raises(ValueError) as exc:
        parse_fail_on("not-fond,bogus")
    text = str(exc.value)
    assert text.startswith("unknown tokens 'not_fond', 'bogus' in 'not-fond,bogus' "
                           "(did you mean 'not_found'?); use statuses (redirected, soft_404, ")
    assert text.endswith("health (failing, dead, unknown), dates (published_mismatch, "
                         "modified_after_access, citation_error), title_changed, "
                         "or the modifiers new and none")
    listed = re.findall(r"[a-z][a-z0-9_]+", text.split("; use ", 1)[1])
    assert set(TOKENS) <= set(listed)
    assert all(listed.count(t) == 1 for t in TOKENS)            # no token offered twice
    assert "--fail-on" not in text and "\n" not in text          # config adds the source


@pytest.mark.parametrize("text", ["", " , ", "none,dead"])
def test_empty_or_contradictory_is_an_error(text):
    with pytest.raises(ValueError):
        parse_fail_on(text)


def test_parse_is_forgiving_about_case_space_and_dashes():
    assert parse_fail_on(" Not-Found , DEAD,new") == parse_fail_on("not_found,dead,new")
    assert str(DEFAULT) == "dead,invalid_url,title_changed"


def test_outcome_of_each_citation():
    result = evaluate(make_summary())
    assert [result.outcome(c) for c in "123456"] == ["ok", "ok", "warn", "fail", "skip", "fail"]


def test_hints_name_hosts_and_actions():
    rows = [make_row("1", Status.BLOCKED, http=429, url="https://slow.example/a"),
            make_row("2", Status.BLOCKED, http=429, url="https://slow.example/b"),
            make_row("3", Status.BLOCKED, http=403, url="https://walled.example/c"),
            make_row("4", Status.REDIRECTED, http=301, url="https://old.example/x",
                     final_url="https://new.example/x"),
            make_row("5", Status.ROBOTS_DISALLOWED, http=0, url="https://private.example/"),
            make_row("6", Status.GONE, health=Health.DEAD, archive="https://web.archive.org/x")]
    text = "\n".join(hints(make_summary(rows, hints=("from the pipeline",))))
    assert "slow.example rate-limited us (429) on 2 citation(s)" in text and "--delay" in text
    assert "walled.example showed a bot wall" in text
    assert "update the article's URL https://old.example/x -> https://new.example/x" in text
    assert "robots.txt of private.example" in text
    assert "archived copy exists at https://web.archive.org/x" in text
    assert text.endswith("from the pipeline")
