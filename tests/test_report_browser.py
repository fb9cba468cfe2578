"""The HTML report in a real headless browser: the chart and every citation row are in the DOM.

Needs Debian's chromium (`apt-get install -y chromium`); skips with that reason otherwise.
The browser runs with networking features off and a throwaway profile, on a file:// URL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import hostile_summary, make_row, make_summary

from crawler.model import Health, Hop, Status
from crawler.report import render

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no headless browser: apt-get install -y chromium")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--hide-scrollbars"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={profile}", *args],
                          check=False, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(tmp_path)})


def write_report(tmp_path: Path, summary=None) -> Path:
    page = tmp_path / "report.html"
    page.write_text(render(summary or make_summary(), "html"), encoding="utf-8")
    return page


def test_rendered_dom_has_chart_and_every_row(tmp_path):
    page = write_report(tmp_path)
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "<svg" in dom and 'class="trend"' in dom
    assert dom.count('<rect') >= 5 * 2                    # stacked bars for five runs
    for cid in "123456":
        assert f'<tr id="c-{cid}"' in dom


def test_hostile_title_stays_text_in_the_browser(tmp_path):
    page = write_report(tmp_path, hostile_summary())
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "<script>" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_screenshot(tmp_path):
    """Writes report.png (kept under REPORT_SCREENSHOT_DIR when set, for a human to look at)."""
    page = write_report(tmp_path)
    shot = Path(os.environ.get("REPORT_SCREENSHOT_DIR", tmp_path)) / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri())
    assert shot.exists() and shot.stat().st_size > 10_000


# Measures the laid-out page; the report itself carries no script, the test adds this one.
MEASURE = """<script>
const td = document.querySelector('#c-2 td.url'), link = td.querySelector('a');
const lines = new Set([...link.getClientRects()].map(r => Math.round(r.top))).size;
document.body.dataset.measured = [Math.round(td.getBoundingClientRect().width), lines].join(',');
</script></body>"""


def test_long_final_url_gets_a_readable_column(tmp_path):
    """A long redirect target wraps at slashes in a column wide enough to read, not a few
    letters a line (overflow-wrap: anywhere let the table squeeze it to ~10 characters)."""
    long = ("https://www.example-newspaper.com/world/asia/2026/11/23/"
            "a-very-long-article-slug-about-something-important-1234567.html?utm_source=feed&ref=abc")
    rows = [make_row("1"),
            make_row("2", Status.REDIRECTED, http=301, final_url=long,
                     redirects=(Hop("https://news2.example/a/2", 301),)),
            make_row("3", Status.NOT_FOUND, health=Health.FAILING, http=404, title_match=None,
                     error="HTTP 404 Not Found after a long explanation of what went wrong"),
            make_row("4", Status.GONE, health=Health.DEAD, http=410,
                     archive="https://web.archive.org/web/2025/x")]
    page = tmp_path / "report.html"
    page.write_text(render(make_summary(rows), "html").replace("</body>", MEASURE),
                    encoding="utf-8")
    dom = chromium(tmp_path, "--window-size=1200,1600", "--dump-dom", page.as_uri()).stdout
    width, lines = map(int, re.search(r'data-measured="(\d+),(\d+)"', dom).groups())
    assert width >= 180, (width, lines)
    assert 1 <= lines <= 4, lines
