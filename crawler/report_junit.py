"""The JUnit XML report, so a CI system shows each citation as a test.

Mapping (one <testcase> per citation): a policy failure is <failure>; a citation we could
not check (blocked, paywalled, robots_disallowed, timeout, too_large) is <skipped> with the
reason; a warning (bad, but not fatal under the policy, e.g. one bad night) passes with a
"WARNING: ..." line in <system-out>, so CI shows it without failing the build.

Built with ElementTree, so page text is escaped; XML 1.0 cannot carry most control
characters even escaped, so those are replaced. Each <testcase> is serialised as it comes,
so a run of any size is held one citation at a time.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

from crawler.model import Row, Summary
from crawler.policy import FailOn, PolicyResult
from crawler.report_output import Writable
from crawler.report_records import Digest, run_record

__all__ = ["write_junit"]

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: Any) -> str:
    """XML 1.0 cannot carry most control characters at all, escaped or not: drop them."""
    return _XML_BAD.sub("\ufffd", str(text))


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
    outcome, reason = result.outcome(c.id), _x(result.reason(c.id))
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
