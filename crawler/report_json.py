"""The JSON report: one document, `schema_version` 1, validated by the published schema.

Machines read it, so its names stay stable (a citation's `"outcome"` is `"fail"`, `"warn"`,
`"skip"` or `"ok"`). Page text is hostile: <, > and & are \\u-escaped so the document can be
pasted into a <script> block or an HTML attribute without turning into markup. The citations
array is written one element at a time, so a run of any size is held one citation at a time.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from crawler.model import Summary
from crawler.policy import FailOn
from crawler.report_output import Writable
from crawler.report_records import Digest, all_runs, citation_record, run_record

__all__ = ["SCHEMA_VERSION", "report_schema", "write_json"]

SCHEMA_VERSION = 1


def report_schema() -> dict[str, Any]:
    """The published JSON Schema of render_json's output (crawler/schema/report.schema.json)."""
    text = resources.files("crawler").joinpath("schema/report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _json_safe(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def write_json(summary: Summary, fail_on: FailOn, fh: Writable, d: Digest) -> None:
    """render_json's document, byte for byte, with the citations array written one element at
    a time (`json.dumps(doc, indent=2)` would need every record at once)."""
    result = d.result
    head = json.dumps({
        "schema_version": SCHEMA_VERSION,
        "run": run_record(summary, result, fail_on, d),
        "history": [{"id": r.id, "started_at": r.started_at, "state": r.state,
                     "counts": dict(r.counts)} for r in all_runs(summary)],
        "hints": d.hints,
    }, ensure_ascii=False, indent=2)
    assert head.endswith("\n}")
    fh.write(_json_safe(head[:-2]) + ',\n  "citations": [')
    sep = "\n    "                    # an element of the array at depth 2, as indent=2 puts it
    for row in summary.rows:
        record = json.dumps(citation_record(row, result), ensure_ascii=False, indent=2)
        fh.write(sep + _json_safe(record.replace("\n", "\n    ")))   # strings hold no raw \n
        sep = ",\n    "
    fh.write("]\n}\n" if sep == "\n    " else "\n  ]\n}\n")
