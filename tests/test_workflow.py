"""The ready-made GitHub workflow: valid for GitHub, and its steps work as written.

GitHub is not reachable from here, so the workflow is checked in two ways that could
each catch a real break: against GitHub's published workflow schema (the copy vendored
by check-jsonschema), and by running its `crawler ...` steps, in order, with the job's
`env:` evaluated the way a scheduled run evaluates it, against a loopback fixture web.
A renamed flag, a wrong default or a report that is not written fails here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from citing import article, write_registry
from ruamel.yaml import YAML
from server import Response

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "citations.yml"


def load_workflow() -> dict:
    return YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))


def test_workflow_matches_githubs_schema():
    schema_file = resources.files("check_jsonschema") / "builtin_schemas" / "vendor"
    schema = json.loads((schema_file / "github-workflows.json").read_text(encoding="utf-8"))
    jsonschema.validate(load_workflow(), schema)


def scheduled_value(expr: str, vars_: dict[str, str]) -> str:
    """`${{ inputs.x || vars.Y || 'lit' }}` as a scheduled run sees it: no inputs."""
    def evaluate(m: re.Match) -> str:
        for term in (t.strip() for t in m.group(1).split("||")):
            if term.startswith("'") and term.endswith("'"):
                value = term[1:-1]
            elif term.startswith("vars."):
                value = vars_.get(term[5:], "")
            elif term.startswith("inputs."):
                value = ""
            else:
                raise AssertionError(f"expression the test does not know: {term!r}")
            if value:
                return value
        return ""
    return re.sub(r"\$\{\{(.*?)\}\}", evaluate, expr)


def crawler_steps(job: dict) -> list[dict]:
    return [s for s in job["steps"] if str(s.get("run", "")).startswith("crawler ")]


def run_steps(tmp_path: Path, vars_: dict[str, str]) -> list[tuple[str, int, str]]:
    job = load_workflow()["jobs"]["check"]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CRAWLER_") and not k.lower().endswith("_proxy")}
    env.update({k: scheduled_value(str(v), vars_) for k, v in job["env"].items()})
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CRAWLER_ALLOW_PRIVATE"] = "1"          # the fixture web is on 127.0.0.x
    env["CRAWLER_MAX_RETRIES"] = "0"
    env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "step-summary.md")
    out = []
    for step in crawler_steps(job):              # the report steps run `if: always()`
        proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        out.append((step["name"], proc.returncode, proc.stderr))
    return out


@pytest.fixture
def site(web):
    s = web()
    s.route("/", Response(200, b"<html><head><title>Home</title></head><body>Home</body></html>"))
    s.route("/news/1", Response(200, article("Trump says talks are close")))
    s.route("/news/2", Response(200, article("Ceasefire plan unveiled")))
    s.status("/news/gone", 404)
    return s


def test_scheduled_run_checks_and_writes_every_report(tmp_path, site):
    write_registry(tmp_path / "citations.csv", [("Trump says talks are close", site.url("/news/1")),
                                                ("Ceasefire plan unveiled", site.url("/news/2"))])
    steps = run_steps(tmp_path, {"CRAWLER_DELAY": "0.01"})
    assert [code for _, code, _ in steps] == [0, 0, 0], steps
    summary = (tmp_path / "step-summary.md").read_text(encoding="utf-8")
    assert "policy holds" in summary and "| ok | 2 |" in summary, summary
    suite = ET.parse(tmp_path / "report.xml").getroot()
    assert len(suite.findall(".//testcase")) == 2
    assert "Ceasefire plan unveiled" in (tmp_path / "report.html").read_text(encoding="utf-8")
    job = load_workflow()["jobs"]["check"]
    upload = next(s for s in job["steps"] if "upload-artifact" in s.get("uses", ""))
    for path in upload["with"]["path"].split():
        assert (tmp_path / path).is_file(), f"artifact {path} was not written"
    cached = next(s for s in job["steps"] if "cache/save" in s.get("uses", ""))
    assert "crawler.db" in cached["with"]["path"].split() and (tmp_path / "crawler.db").is_file()


def test_repository_variable_sets_the_policy_and_fails_the_job(tmp_path, site):
    write_registry(tmp_path / "citations.csv", [("Trump says talks are close", site.url("/news/1")),
                                                ("Gone story", site.url("/news/gone"))])
    default = run_steps(tmp_path, {"CRAWLER_DELAY": "0.01"})
    assert default[0][1] == 0, default           # one bad night is a warning by default
    strict = run_steps(tmp_path, {"CRAWLER_DELAY": "0.01", "CRAWLER_FAIL_ON": "not_found"})
    assert strict[0][1] == 1, strict             # vars.CRAWLER_FAIL_ON reaches the check
    assert [code for _, code, _ in strict[1:]] == [0, 0]   # reports are still written
    suite = ET.parse(tmp_path / "report.xml").getroot()
    assert len(suite.findall(".//testcase")) == 2
    assert len(suite.findall(".//failure")) == 1   # the reports apply the same policy
