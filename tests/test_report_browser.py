"""The HTML report in a real headless browser: the chart and every citation row are in the DOM.

Needs Debian's chromium (`apt-get install -y chromium`); skips with that reason otherwise.
The browser runs with networking features off and a throwaway profile, on a file:// URL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import hostile_summary, make_summary

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
